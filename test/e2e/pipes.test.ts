/**
 * Output is EPIPE-safe: the built CLI (`node dist/bin.cjs`, built by test/global-setup.ts) writing into
 * a pipe whose reader has gone exits with its own code and no stack trace. Two readers: `head -1`
 * through a real shell pipe (as users write it), and a reader that is closed before kms-byok starts
 * (so every write meets EPIPE, whatever the scheduling).
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspace, type Workspace } from './harness.js';
import { custodian } from './identities.js';
import { onboardKey } from './lifecycle-helpers.js';

const BIN = fileURLToPath(new URL('../../dist/bin.cjs', import.meta.url));
let ws: Workspace;
let escrowFile: string;
let plan: string;

beforeAll(async () => {
  ws = await workspace();
  const alice = await custodian(ws.path('alice.txt'));
  const key = await onboardKey(ws, alice.recipient, ['--expires-in', '90d']);
  escrowFile = key.escrow.path;
  plan = ws.path('plan.json');
  writeFileSync(plan, JSON.stringify({ version: 1, defaults: { escrowDir: ws.path('escrow'), identity: alice.path }, keys: [{ key: key.keyId, region: 'us-east-1' }] }));
});
afterAll(async () => ws?.close());

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs a bash script (pipefail on) without blocking this process's event loop: the emulator answers from it. */
function bash(script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['-c', `set -o pipefail\n${script}`], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: ws.dir }, cwd: ws.dir }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

function cases(): [string, string][] {
  return [
    ['escrow inspect', `escrow inspect ${q(escrowFile)}`],
    ['transcript verify', `transcript verify ${q(ws.path('escrow/transcript.md'))}`],
    ['status --plan', `status --plan ${q(plan)} --endpoint-url ${ws.emu.endpoint}`],
  ];
}

describe('pipes', () => {
  const NAMES = ['escrow inspect', 'transcript verify', 'status --plan'];
  const argsOf = (name: string) => cases().find(([n]) => n === name)![1];

  it.each(NAMES)('%s | head -1: exit 0, one line, no EPIPE', async (name) => {
    const args = argsOf(name);
    const r = await bash(`node ${q(BIN)} ${args} | head -1`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n').filter(Boolean)).toHaveLength(1);
    expect(r.stderr).not.toMatch(/EPIPE|\n\s+at |internal error/);
  });

  it.each(NAMES)('%s into a pipe whose reader is gone: exit 0, no EPIPE', async (name) => {
    const args = argsOf(name);
    // fd 3: a pipe whose only reader (`true`) has exited before kms-byok starts.
    const r = await bash(`exec 3> >(exec true)\nwait $!\nnode ${q(BIN)} ${args} >&3\necho "exit $?" >&2`);
    expect(r.stderr, r.stderr).toMatch(/exit 0\n$/);
    expect(r.stderr).not.toMatch(/EPIPE|\n\s+at |internal error/);
  });
});
