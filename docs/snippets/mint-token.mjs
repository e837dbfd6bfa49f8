// Mint a Participation secure token (HS256) with Node.js's built-in crypto module: no dependency.
import { createHmac, randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';

export function mintToken({ secret, sub, campaignId, lifetimeSeconds = 600, limit, gift }) {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: 'HS256', typ: 'JWT' };
  const payload = { sub, campaignId, jti: randomUUID(), iat: now, exp: now + lifetimeSeconds };
  if (limit) payload.limit = limit; // e.g. { nb: 5 } or { canPlay: false }
  if (gift) payload.gift = gift; // e.g. { label: 'Coffee mug', cw: true }

  const encode = (part) => Buffer.from(JSON.stringify(part)).toString('base64url');
  const signingInput = encode(header) + '.' + encode(payload);
  const signature = createHmac('sha256', secret).update(signingInput).digest('base64url');
  return signingInput + '.' + signature;
}

// From a shell: PARTICIPATION_SECRET=... node mint-token.mjs <campaignId> <sub>
if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [campaignId, sub] = process.argv.slice(2);
  console.log(mintToken({ secret: process.env.PARTICIPATION_SECRET, sub, campaignId }));
}
