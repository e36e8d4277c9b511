#!/usr/bin/env node
// Rebuilds a kms-byok m-of-n payload identity from share documents (escrow format v1).
const fs = require('fs');
const mul = (a, b) => { let p = 0; while (b) { if (b & 1) p ^= a; a <<= 1; if (a & 0x100) a ^= 0x11b; b >>= 1; } return p; };
const inv = (a) => { let r = 1; for (let i = 0; i < 254; i++) r = mul(r, a); return r; };
const fail = (m) => { process.stderr.write(m + '\n'); process.exit(1); };
const docs = process.argv.slice(2).map((p) => JSON.parse(fs.readFileSync(p, 'utf8')));
if (docs.length === 0) fail('usage: node combine-shares.cjs SHARE.json SHARE.json ...');
for (const d of docs) {
  if (d.format !== 'kms-byok-escrow-share' || d.version !== 1) fail('not a kms-byok share document (format v1)');
  if (d.escrowId !== docs[0].escrowId) fail('these shares belong to different escrows');
}
const shares = docs.map((d) => Buffer.from(d.share, 'base64'));
const xs = shares.map((s) => s[s.length - 1]);
if (new Set(xs).size !== xs.length) fail('a share was given twice');
if (docs.length < docs[0].threshold) fail(`${docs[0].threshold} shares are needed, ${docs.length} given`);
const out = Buffer.alloc(shares[0].length - 1);
for (let i = 0; i < out.length; i++) {
  let acc = 0;
  shares.forEach((s, j) => {
    let num = 1, den = 1;
    xs.forEach((x, k) => { if (k !== j) { num = mul(num, x); den = mul(den, xs[j] ^ x); } });
    acc ^= mul(s[i], mul(num, inv(den)));
  });
  out[i] = acc;
}
process.stdout.write(out.toString('ascii') + '\n');
