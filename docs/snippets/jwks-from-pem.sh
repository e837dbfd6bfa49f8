# Writes jwks.json: the public key partner-2025.pem as a JWK Set, with Node.js's built-in crypto.
node -e '
const { createPublicKey } = require("node:crypto");
const jwk = createPublicKey(require("node:fs").readFileSync("partner-2025.pem")).export({ format: "jwk" });
console.log(JSON.stringify({ keys: [{ ...jwk, kid: "partner-2025", use: "sig", alg: "RS256" }] }));
' > jwks.json
