/**
 * Attack class "a transcript that can be forked quietly" (docs/architecture.md, safe files): appends
 * are serialised by an exclusive lock, so eight concurrent `escrow acknowledge` runs — in one process
 * and as eight processes — leave one intact chain with all eight entries; a stale lock of a dead
 * process is broken with a note; a broken chain makes the next ceremony refuse before any KMS request
 * (with the `transcript verify` hint) instead of running and recording nothing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyTranscript } from '../../src/records/transcript.js';
import { operations, run, workspace, type Workspace } from '../e2e/harness.js';
import { custodian } from '../e2e/identities.js';
import { onboardKey } from '../e2e/lifecycle-helpers.js';

const BIN = fileURLToPath(new URL('../../dist/bin.cjs', import.meta.url));

let ws: Workspace;
let alice: { identity: string; recipient: string; path: string };
let key: { keyId: string; keyArn: string; escrow: { path: string } };

beforeAll(async () => {
  ws = await workspace();
  alice = await custodian(ws.path('alice.txt'));
  key = await onboardKey(ws, alice.recipient, ['--expires-in', '30d']);
});
afterAll(async () => ws?.close());

function acknowledgeArgs(transcript: string, i: number): string[] {
  return ['escrow', 'acknowledge', key.escrow.path, '--identity', alice.path, '--name', `Custodian ${i}`, '--transcript', transcript];
}

/** Runs the built CLI as its own process; resolves with its exit code and stderr. */
function spawnCli(argv: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...argv], { cwd: ws.dir, env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

function entriesNamed(text: string): string[] {
  return [...text.matchAll(/- \*\*custodian\*\*: (Custodian \d+)/g)].map((m) => m[1]!).sort();
}

describe('concurrent appends keep one chain', () => {
  it('eight acknowledgements at once in one process: every one recorded, the chain intact (transcript verify exit 0)', async () => {
    const t = ws.path('ack-inprocess.md');
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => run(acknowledgeArgs(t, i))));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const check = verifyTranscript(readFileSync(t, 'utf8'));
    expect(check).toMatchObject({ ok: true, entries: 8 });
    expect(entriesNamed(readFileSync(t, 'utf8'))).toEqual(Array.from({ length: 8 }, (_, i) => `Custodian ${i}`).sort());
    const v = await run(['transcript', 'verify', t]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(existsSync(`${t}.lock`)).toBe(false);
  });

  it('eight acknowledgements as eight processes: every one recorded, the chain intact', async () => {
    const t = ws.path('ack-processes.md');
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => spawnCli(acknowledgeArgs(t, i))));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    expect(verifyTranscript(readFileSync(t, 'utf8'))).toMatchObject({ ok: true, entries: 8 });
    expect(entriesNamed(readFileSync(t, 'utf8'))).toHaveLength(8);
    const v = await run(['transcript', 'verify', t]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
  }, 120_000);

  it('a stale lock (its process is gone) is broken with a note, and the entry is appended', async () => {
    const t = ws.path('ack-stale.md');
    const dead = spawnSync(process.execPath, ['-e', '0']).pid; // exited: its pid names no running process
    writeFileSync(`${t}.lock`, `${JSON.stringify({ pid: dead, host: hostname(), since: '2026-01-01T00:00:00.000Z' })}\nx\n`, { mode: 0o600 });
    const r = await run(acknowledgeArgs(t, 1));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`broke a stale lock on the transcript ${t}`);
    expect(r.stderr).toContain(`pid ${dead}`);
    expect(verifyTranscript(readFileSync(t, 'utf8'))).toMatchObject({ ok: true, entries: 1 });
    expect(existsSync(`${t}.lock`)).toBe(false);
  });
});

describe('a broken chain stops the next ceremony instead of being skipped', () => {
  it('reimport refuses before any KMS request, naming transcript verify; the damaged file is kept as it was', async () => {
    const t = ws.path('escrow/transcript.md'); // onboard wrote the first entry here
    expect(verifyTranscript(readFileSync(t, 'utf8')).ok).toBe(true);
    const damaged = readFileSync(t, 'utf8').replace('- **outcome**: ', '- **outcome**: (edited) ');
    writeFileSync(t, damaged);
    const before = operations(ws.emu).length;
    const r = await run(['reimport', key.keyId, ...ws.target, '--identity', alice.path, '--escrow-dir', ws.path('escrow'), '--expires-in', '30d']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('kms-byok: code: ERR_TRANSCRIPT_FORMAT');
    expect(r.stderr).toContain(`kms-byok transcript verify ${t}`);
    expect(operations(ws.emu).slice(before)).toEqual([]);
    expect(readFileSync(t, 'utf8')).toBe(damaged);
    // Recovery as the hint says: a new transcript for this ceremony; the key is reimported.
    const ok = await run(['reimport', key.keyId, ...ws.target, '--identity', alice.path, '--escrow-dir', ws.path('escrow'), '--expires-in', '30d', '--transcript', ws.path('transcript-2.md')]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(verifyTranscript(readFileSync(ws.path('transcript-2.md'), 'utf8'))).toMatchObject({ ok: true, entries: 1 });
  });

  it('escrow acknowledge refuses to append to a broken chain (exit non-zero), leaving it as it was', async () => {
    const t = ws.path('ack-inprocess.md');
    appendFileSync(t, 'a line an attacker added\n');
    const damaged = readFileSync(t, 'utf8');
    const r = await run(acknowledgeArgs(t, 9));
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.stderr).toContain('kms-byok: code: ERR_TRANSCRIPT_FORMAT');
    expect(readFileSync(t, 'utf8')).toBe(damaged);
  });
});
