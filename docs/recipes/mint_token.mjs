#!/usr/bin/env node
// Make an amsync pre-shared-key SSO token, as an association's login page does.
//
// Format: v1.<kid>.<base64url-no-padding(nonce12 || AES-256-GCM ciphertext || tag)>,
// with the ASCII prefix "v1.<kid>" as the AES-GCM additional data. The
// plaintext is JSON {"key", "iat", "exp", "jti", "aud"}. Node's built-in
// crypto only.
//
// Usage:
//   AMSYNC_SSO_PSK=<32 bytes in standard base64> \
//   node mint_token.mjs --kid k1 --member M000123 --audience https://community.example.org
import { createCipheriv, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';

export function mint(kid, key, member, audience, ttl = 120) {
  if (key.length !== 32) throw new Error('the key must be 32 bytes');
  const now = Math.floor(Date.now() / 1000);
  const claims = { key: member, iat: now, exp: now + ttl, jti: randomBytes(24).toString('base64url'), aud: audience };
  const prefix = `v1.${kid}`;
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(prefix, 'ascii'));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(claims), 'utf8'), cipher.final()]);
  const body = Buffer.concat([nonce, ciphertext, cipher.getAuthTag()]).toString('base64url');
  return `${prefix}.${body}`;
}

const { values } = parseArgs({
  options: {
    kid: { type: 'string' },
    member: { type: 'string' },
    audience: { type: 'string' },
    ttl: { type: 'string', default: '120' },
    'key-env': { type: 'string', default: 'AMSYNC_SSO_PSK' },
  },
});
for (const required of ['kid', 'member', 'audience']) {
  if (!values[required]) {
    console.error(`--${required} is required`);
    process.exit(2);
  }
}
const key = Buffer.from((process.env[values['key-env']] || '').trim(), 'base64');
console.log(mint(values.kid, key, values.member, values.audience, Number(values.ttl)));
