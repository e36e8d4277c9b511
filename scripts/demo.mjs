#!/usr/bin/env node
// The README's main job: a complete bring-your-own-key ceremony against the embedded KMS emulator,
// run through the built CLI exactly as a user would, then the escrow opened and checked.
// Everything lands in ./rehearsal/<timestamp>/ (git-ignored): a test custodian identity, the
// emulator's state, the sealed escrow. Nothing here touches AWS or the network.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { generateIdentity, identityToRecipient } from 'age-encryption';

const root = new URL('..', import.meta.url).pathname;
const bin = join(root, 'dist', 'bin.cjs');
if (!existsSync(bin)) {
  console.error('demo: dist/bin.cjs is missing; run npm ci (it builds) or npm run build first');
  process.exit(1);
}
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const dir = join(root, 'rehearsal', stamp);
mkdirSync(dir, { recursive: true, mode: 0o700 });
const rel = (p) => relative(process.cwd(), p) || '.';

// 1. A custodian identity, as `age-keygen -o custodian.txt` would write it (test-only: rehearsal).
const identity = await generateIdentity();
const recipient = await identityToRecipient(identity);
const identityFile = join(dir, 'custodian.txt');
writeFileSync(identityFile, `# created: ${new Date().toISOString()}\n# public key: ${recipient}\n${identity}\n`, { mode: 0o600, flag: 'wx' });

function step(title, args) {
  const shown = args.map((a) => (/[\s"']/.test(a) ? JSON.stringify(a) : a)).join(' ');
  console.error(`\n── ${title}\n$ kms-byok ${shown}`);
  const r = spawnSync(process.execPath, [bin, ...args], { stdio: 'inherit', env: process.env });
  if (r.status !== 0) {
    console.error(`demo: step failed with exit code ${r.status}`);
    process.exit(r.status ?? 1);
  }
}

const escrowDir = join(dir, 'escrow');
const state = join(dir, 'emulator-state.json');
step('onboard: create an EXTERNAL key, generate + seal + wrap + import 256-bit material, verify', [
  'onboard', '--emulator', '--emulator-state', rel(state), '--yes',
  '--alias', 'alias/demo-payments', '--description', 'kms-byok demo key',
  '--expires-in', '90d', '--recipient', recipient, '--escrow-dir', rel(escrowDir),
]);

const sealed = readdirSync(escrowDir).filter((f) => f.endsWith('.age')).sort();
step('escrow verify: the custodian opens the escrow and checks it (the material is never printed)', [
  'escrow', 'verify', rel(join(escrowDir, sealed[0])), '--identity', rel(identityFile),
]);

console.error(`\ndemo: done. Rehearsal files in ${rel(dir)}/ (custodian.txt is a test identity).`);
