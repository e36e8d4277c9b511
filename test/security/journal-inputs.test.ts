/**
 * The command line wins over journals (docs/lifecycle.md, "Journals"): an unfinished lifecycle
 * journal is resumed only when its recorded inputs equal this invocation's. A planted journal, or
 * one from a failed run with a typo'd alias, is refused (exit 2, ERR_JOURNAL_INPUTS) before any KMS
 * request, showing the difference, the command that finishes it and how to discard it; a journal
 * with matching inputs but facts about other keys is refused too. Nothing is created or moved.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { DescribeKeyCommand } from '@aws-sdk/client-kms';
import { journalPath } from '../../src/cli/context.js';
import { operations, run, workspace, type Workspace } from '../e2e/harness.js';
import { custodian } from '../e2e/identities.js';
import { onboardKey } from '../e2e/lifecycle-helpers.js';

let ws: Workspace;
let alice: { identity: string; recipient: string; path: string };
const escrowDir = () => ws.path('escrow');

beforeAll(async () => {
  ws = await workspace();
  alice = await custodian(ws.path('alice.txt'));
});
afterAll(async () => ws?.close());

const since = (n: number) => operations(ws.emu).slice(n);
const aliasTarget = (alias: string) => ws.kms.send(new DescribeKeyCommand({ KeyId: alias })).then((r) => r.KeyMetadata!.KeyId!, () => undefined);

function plant(ceremony: string, subject: string, facts: Record<string, string>, extra: Record<string, unknown> = {}): string {
  const path = journalPath(escrowDir(), ceremony, subject);
  mkdirSync(ws.path('escrow/.journal'), { recursive: true });
  const now = new Date().toISOString();
  writeFileSync(path, JSON.stringify({ format: 'kms-byok-journal', version: 1, ceremony, subject, startedAt: now, updatedAt: now, done: false, facts, steps: [{ step: 'planned', at: now, facts }], ...extra }));
  return path;
}

describe('a planted journal cannot redirect rotate --new-key to another team\'s alias', () => {
  it('without recorded inputs: refused before any KMS request (exit 2), showing the difference; the other alias is untouched', async () => {
    const ours = await onboardKey(ws, alice.recipient, ['--no-expiry', '--alias', 'alias/ra']);
    const theirs = await onboardKey(ws, alice.recipient, ['--no-expiry', '--alias', 'alias/rb-payments-prod']);
    const path = plant('rotate-new-key', 'alias/ra', { oldKeyId: theirs.keyId, aliases: 'alias/rb-payments-prod' });
    const before = operations(ws.emu).length;
    const r = await run(['rotate', 'alias/ra', '--new-key', '--alias', 'alias/ra', '--yes', '--no-expiry', ...ws.target, '--escrow-dir', escrowDir(), '--identity', alice.path]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('kms-byok: code: ERR_JOURNAL_INPUTS\n');
    expect(r.stderr).toContain(path);
    expect(r.stderr).toMatch(/records no inputs/);
    expect(r.stderr).toMatch(/hint: .*--discard-journal/);
    expect(since(before)).toEqual([]);
    expect(await aliasTarget('alias/rb-payments-prod')).toBe(theirs.keyId);
    expect(await aliasTarget('alias/ra')).toBe(ours.keyId);
  });

  it('with inputs copied from this command but facts about another key: refused (ERR_JOURNAL), nothing created or moved', async () => {
    const theirs = await aliasTarget('alias/rb-payments-prod');
    const ours = await aliasTarget('alias/ra');
    // The attacker records exactly the inputs this invocation has.
    const argv = ['rotate', 'alias/ra', '--new-key', '--alias', 'alias/ra', '--yes', '--no-expiry', ...ws.target, '--escrow-dir', escrowDir(), '--identity', alice.path];
    const { ceremonyInputs } = await import('../../src/cli/ceremony-run.js');
    const { parseCommand } = await import('../../src/cli/command-spec.js');
    const { ROTATE } = await import('../../src/cli/specs/rotate.js');
    const p = parseCommand(argv.slice(1), ROTATE);
    plant('rotate-new-key', 'alias/ra', { oldKeyId: theirs!, aliases: 'alias/rb-payments-prod' }, { inputs: ceremonyInputs('rotate-new-key', 'alias/ra', p) });
    const before = operations(ws.emu).length;
    const r = await run(argv);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('kms-byok: code: ERR_JOURNAL\n');
    expect(r.stderr).toMatch(/journal is about key .*, but alias\/ra is key/);
    const after = since(before);
    expect(after).not.toContain('CreateKey');
    expect(after).not.toContain('UpdateAlias');
    expect(after).not.toContain('CreateAlias');
    expect(await aliasTarget('alias/rb-payments-prod')).toBe(theirs);
    expect(await aliasTarget('alias/ra')).toBe(ours);
  });
});

describe('a failed alias is never replayed', () => {
  it('rotate --new-key with alias/typo fails; --alias alias/right is refused showing the difference; --discard-journal then uses alias/right', async () => {
    const key = await onboardKey(ws, alice.recipient, ['--no-expiry']);
    const flags = ['--yes', '--no-expiry', ...ws.target, '--escrow-dir', escrowDir(), '--identity', alice.path];
    ws.emu.faults.add({ operation: 'CreateAlias', kind: 'throttle', times: 20 });
    const failed = await run(['rotate', key.keyId, '--new-key', '--alias', 'alias/typo', ...flags]);
    ws.emu.faults.clear();
    expect(failed.code, failed.stderr).not.toBe(0);
    const path = journalPath(escrowDir(), 'rotate-new-key', key.keyId);
    expect(existsSync(path)).toBe(true);

    const before = operations(ws.emu).length;
    const refused = await run(['rotate', key.keyId, '--new-key', '--alias', 'alias/right', ...flags]);
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toContain('kms-byok: code: ERR_JOURNAL_INPUTS\n');
    expect(refused.stderr).toContain('--alias: alias/typo → alias/right');
    expect(refused.stderr).toMatch(/hint: finish it with: kms-byok rotate \S+ --new-key --alias alias\/typo .*; or discard it: kms-byok rotate .*--alias alias\/right .*--discard-journal/);
    expect(since(before)).toEqual([]);

    const fresh = await run(['rotate', key.keyId, '--new-key', '--alias', 'alias/right', '--discard-journal', ...flags, '--json']);
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(fresh.stderr).toMatch(/warning: discarding the unfinished rotate-new-key of .* it recorded .*newKeyId/);
    const out = fresh.json<{ keyId: string; aliases: string[] }>();
    expect(out.aliases).toEqual(['alias/right']);
    expect(await aliasTarget('alias/right')).toBe(out.keyId);
    expect(await aliasTarget('alias/typo')).toBeUndefined();
  });
});

describe('restore --new-key --multi-region never reuses a key of another shape', () => {
  it('a journal from a run without --multi-region is refused by the inputs rule (exit 2), before any KMS request', async () => {
    const key = await onboardKey(ws, alice.recipient, ['--no-expiry']);
    const flags = ['--yes', '--no-expiry', ...ws.target, '--escrow-dir', escrowDir(), '--identity', alice.path];
    ws.emu.faults.add({ operation: 'ImportKeyMaterial', kind: 'throttle', times: 20 });
    const failed = await run(['restore', key.keyId, '--new-key', ...flags]);
    ws.emu.faults.clear();
    expect(failed.code, failed.stderr).not.toBe(0);
    expect(failed.stderr).toMatch(/created key/);
    const before = operations(ws.emu).length;
    const r = await run(['restore', key.keyId, '--new-key', '--multi-region', ...flags]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('kms-byok: code: ERR_JOURNAL_INPUTS\n');
    expect(r.stderr).toContain('--multi-region: (not given) → true');
    expect(since(before)).toEqual([]);
  });
});
