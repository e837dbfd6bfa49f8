// Wraps a signed token in a compact JWE (RSA-OAEP-256, A256GCM) to the newest RSA key of the account's JWKS,
// with Node.js's built-in crypto: node encrypt-token.mjs jwks.json "$TOKEN" (jwks.json from GET .../jwks.json).
import { constants, createCipheriv, createPublicKey, publicEncrypt, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";

const [jwksFile, token] = process.argv.slice(2);
const jwk = JSON.parse(readFileSync(jwksFile, "utf8")).keys.filter((k) => k.alg === "RSA-OAEP-256").at(-1);
const b64url = (bytes) => Buffer.from(bytes).toString("base64url");
const header = b64url(JSON.stringify({ alg: "RSA-OAEP-256", enc: "A256GCM", kid: jwk.kid, cty: "JWT" }));
const contentKey = randomBytes(32);
const iv = randomBytes(12);
const publicKey = createPublicKey({ key: { kty: jwk.kty, n: jwk.n, e: jwk.e }, format: "jwk" });
const encryptedKey = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" }, contentKey);
const cipher = createCipheriv("aes-256-gcm", contentKey, iv).setAAD(Buffer.from(header, "ascii"));
const ciphertext = Buffer.concat([cipher.update(token, "ascii"), cipher.final()]);
console.log([header, b64url(encryptedKey), b64url(iv), b64url(ciphertext), b64url(cipher.getAuthTag())].join("."));
