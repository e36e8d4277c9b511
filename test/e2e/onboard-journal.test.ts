/**
 * The onboard journal module (src/cli/onboard-journal.ts) against the step lines a real onboard prints:
 * the hook the onboard command can wire in without changing the ceremony.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openOnboardJournal } from '../../src/cli/onboard-journal.js';
import type { Io } from '../../src/cli/io.js';
import { run, workspace, type Workspace } from './harness.js';
import { custodian } from './identities.js';

let ws: Workspace;
beforeAll(async () => {
  ws = await workspace();
});
afterAll(async () => ws?.close());

const io = { env: {} } as unknown as Io;

describe('onboard journal', () => {
  it('journals every step of a real onboard from its progress lines, and refuses a second start while unfinished', async () => {
    const alice = await custodian(ws.path('alice.txt'));
    const r = await run(['onboard', ...ws.target, '--yes', '--json', '--no-expiry', '--recipient', alice.recipient, '--escrow-dir', ws.path('escrow'), '--alias', 'alias/j']);
    expect(r.code, r.stderr).toBe(0);
    const out = r.json<{ keyId: string; keyMaterialId: string; escrow: { path: string } }>();
    const forwarded: string[] = [];
    const j = openOnboardJournal(io, ws.path('escrow'), 'alias/j', (l) => forwarded.push(l));
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('kms-byok: ✓ ')).map((l) => l.slice('kms-byok: ✓ '.length));
    for (const l of lines) j.progress(l);
    expect(forwarded).toEqual(lines);
    const file = JSON.parse(readFileSync(j.path, 'utf8')) as { done: boolean; facts: Record<string, string>; steps: { step: string }[] };
    expect(file.steps.map((s) => s.step)).toEqual(expect.arrayContaining(['created key', 'created alias', 'got parameters', 'escrow sealed', 'imported', 'verified']));
    expect(file.facts).toMatchObject({ keyId: out.keyId, escrow: out.escrow.path, keyMaterialId: out.keyMaterialId });
    expect(file.facts.importTokenValidTo).toMatch(/Z$/);
    expect(JSON.stringify(file)).not.toMatch(/AGE-SECRET-KEY/);
    // Unfinished: a second onboard of the same alias is refused, pointing at restore.
    expect(() => openOnboardJournal(io, ws.path('escrow'), 'alias/j', () => {})).toThrow(/interrupted after "verified"/);
    j.finish();
    expect(() => openOnboardJournal(io, ws.path('escrow'), 'alias/j', () => {})).not.toThrow();
  });
});
