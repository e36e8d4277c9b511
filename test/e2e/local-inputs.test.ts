/**
 * Local inputs are refused as user mistakes, before anything happens: a missing input file is exit 2
 * (ERR_FILE_READ); an expiry AWS would refuse is exit 2 on every command that sets ValidTo; a missing
 * escrow stops a lifecycle ceremony before it writes anything; a file that is not a transcript is not
 * "broken"; and restore after revoke says what was missing instead of a "ValidTo" of now.
 * Each case checks the exit code, the code, the emulator's request log and the workspace on disk.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operations, run, workspace, type RunResult, type Workspace } from './harness.js';
import { custodian } from './identities.js';
import { onboardKey } from './lifecycle-helpers.js';

let ws: Workspace;
let alice: { identity: string; recipient: string; path: string };
/** Onboarded into <ws>/escrow, with an alias. */
let key: { keyId: string; keyArn: string; escrow: { path: string } };
const ALIAS = 'alias/local-inputs';

beforeAll(async () => {
  ws = await workspace();
  alice = await custodian(ws.path('alice.txt'));
  key = await onboardKey(ws, alice.recipient, ['--alias', ALIAS, '--expires-in', '30d']);
  writeFileSync(ws.path('notes.md'), '# meeting notes\n\n- rotate the payments key in March\n');
  mkdirSync(ws.path('empty-escrow'));
});
afterAll(async () => ws?.close());

/** Every file under the workspace with its size: what a failed command must leave unchanged. */
function disk(): string[] {
  return (readdirSync(ws.dir, { recursive: true }) as string[])
    .map((f) => join(ws.dir, f))
    .map((p) => `${relative(ws.dir, p)}${statSync(p).isDirectory() ? '/' : ` ${statSync(p).size}`}`)
    .sort();
}

/** Runs argv and returns the result with the KMS operations it caused; asserts nothing changed on disk. */
async function refused(argv: string[]): Promise<RunResult & { ops: string[] }> {
  const files = disk();
  const before = operations(ws.emu).length;
  const r = await run(argv, { cwd: ws.dir });
  expect(disk(), `${argv.slice(0, 2).join(' ')} changed the disk:\n${r.stderr}`).toEqual(files);
  expect(r.stderr).toMatch(/^kms-byok: error: [^A-Z\s]/m);
  expect(r.stderr).toMatch(/^kms-byok: hint: ./m);
  expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  return { ...r, ops: operations(ws.emu).slice(before) };
}

const lifecycle = () => [...ws.target, '--escrow-dir', ws.path('escrow'), '--identity', alice.path];

describe('a missing input file is a usage error (exit 2, ERR_FILE_READ), before any KMS request', () => {
  const missing = () => ws.path('does-not-exist');
  const cases: [string, () => string[]][] = [
    ['onboard --material-file', () => ['onboard', ...ws.target, '--yes', '--expires-in', '30d', '--recipient', alice.recipient, '--escrow-dir', ws.path('new-escrow'), '--material-file', missing()]],
    ['onboard --passphrase-file', () => ['onboard', ...ws.target, '--yes', '--expires-in', '30d', '--escrow-dir', ws.path('new-escrow'), '--passphrase-file', missing()]],
    ['onboard --recipients-file', () => ['onboard', ...ws.target, '--yes', '--expires-in', '30d', '--escrow-dir', ws.path('new-escrow'), '--recipients-file', missing()]],
    ['onboard --apply-policy', () => ['onboard', ...ws.target, '--yes', '--expires-in', '30d', '--recipient', alice.recipient, '--escrow-dir', ws.path('new-escrow'), '--apply-policy', missing()]],
    ['reimport --identity', () => ['reimport', ALIAS, ...ws.target, '--escrow-dir', ws.path('escrow'), '--identity', missing(), '--expires-in', '30d']],
    ['restore --passphrase-file', () => ['restore', key.keyId, ...ws.target, '--escrow-dir', ws.path('escrow'), '--passphrase-file', missing(), '--expires-in', '30d']],
    ['reimport --plan', () => ['reimport', '--endpoint-url', ws.emu.endpoint, '--plan', missing()]],
    ['reimport --escrow', () => ['reimport', key.keyId, ...lifecycle(), '--escrow', ws.path(`${key.keyId}.v9.age`), '--expires-in', '30d']],
    ['verify --escrow', () => ['verify', ALIAS, ...ws.target, '--identity', alice.path, '--escrow', ws.path(`${key.keyId}.v9.age`)]],
    ['wrap --parameters', () => ['wrap', '--parameters', missing(), '--recipient', alice.recipient, '--escrow-dir', ws.path('new-escrow'), '--out', ws.path('import.json')]],
    ['import --bundle', () => ['import', ...ws.target, '--bundle', missing()]],
    ['transcript verify FILE', () => ['transcript', 'verify', missing()]],
    ['escrow verify FILE', () => ['escrow', 'verify', ws.path(`${key.keyId}.v9.age`), '--identity', alice.path]],
    ['escrow verify --identity', () => ['escrow', 'verify', key.escrow.path, '--identity', missing()]],
  ];
  it.each(cases)('%s', async (_name, argv) => {
    const r = await refused(argv());
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('kms-byok: code: ERR_FILE_READ\n');
    expect(r.ops).toEqual([]);
  });

  it('an escrow directory that cannot be listed, found after a KMS request, stays an operational failure (exit 1)', async () => {
    // Reading the escrow store happens mid-ceremony, after KMS answered: exit 2 there would claim "bad
    // input, nothing sent". It has its own code.
    writeFileSync(ws.path('a-file'), 'not a directory');
    const r = await run(['verify', ALIAS, ...ws.target, '--identity', alice.path, '--escrow-dir', ws.path('a-file')]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^kms-byok: error: cannot list .*a-file \(ENOTDIR/m);
    expect(r.stderr).toContain('kms-byok: code: ERR_ESCROW_UNREADABLE\n');
  });
});

describe('a ValidTo AWS would refuse is refused locally on every command that sets one (exit 2), before anything', () => {
  const far = new Date(Date.now() + 400 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const cases: [string, () => string[]][] = [
    ['onboard --expires-in 400d', () => ['onboard', ...ws.target, '--yes', '--expires-in', '400d', '--recipient', alice.recipient, '--escrow-dir', ws.path('new-escrow')]],
    ['onboard --export-parameters --valid-to +400d', () => ['onboard', ...ws.target, '--yes', '--valid-to', far, '--export-parameters', ws.path('params.json')]],
    ['reimport ALIAS --expires-in 400d', () => ['reimport', ALIAS, ...lifecycle(), '--expires-in', '400d']],
    ['reimport KEY --valid-to +400d', () => ['reimport', key.keyId, ...lifecycle(), '--valid-to', far]],
    ['restore ALIAS --expires-in 400d', () => ['restore', ALIAS, ...lifecycle(), '--expires-in', '400d']],
    ['restore --new-key --valid-to +400d', () => ['restore', '--new-key', '--yes', ...ws.target, '--escrow', key.escrow.path, '--identity', alice.path, '--valid-to', far]],
    ['rotate ALIAS --in-place --expires-in 400d', () => ['rotate', ALIAS, '--in-place', '--yes', ...lifecycle(), '--expires-in', '400d']],
    ['rotate ALIAS --new-key --expires-in 400d', () => ['rotate', ALIAS, '--new-key', '--yes', ...lifecycle(), '--expires-in', '400d']],
  ];
  it.each(cases)('%s', async (_name, argv) => {
    const r = await refused(argv());
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^kms-byok: error: --(expires-in|valid-to) .* is more than 365 days ahead$/m);
    expect(r.stderr).toContain('kms-byok: code: ERR_INVALID_VALID_TO\n');
    expect(r.ops).toEqual([]);
  });
});

describe('a lifecycle ceremony without an escrow fails first and creates nothing', () => {
  const none = () => ws.path('no-such-escrow-dir');
  it.each([
    ['reimport', () => ['reimport', key.keyId, ...ws.target, '--identity', alice.path, '--expires-in', '30d']],
    ['restore', () => ['restore', key.keyId, ...ws.target, '--identity', alice.path, '--expires-in', '30d']],
    ['restore --new-key', () => ['restore', key.keyId, '--new-key', '--yes', ...ws.target, '--identity', alice.path, '--expires-in', '30d']],
    ['rotate --in-place', () => ['rotate', key.keyId, '--in-place', '--yes', ...ws.target, '--identity', alice.path, '--expires-in', '30d']],
  ] as [string, () => string[]][])('%s: a missing --escrow-dir, or one without an escrow of the key (by key id: no KMS request at all)', async (_name, argv) => {
    const missingDir = await refused([...argv(), '--escrow-dir', none()]);
    expect(missingDir.code, missingDir.stderr).toBe(1);
    expect(missingDir.stderr).toMatch(/^kms-byok: error: escrow directory .*no-such-escrow-dir does not exist$/m);
    expect(missingDir.stderr).toContain('kms-byok: code: ERR_ESCROW_NOT_FOUND\n');
    expect(missingDir.ops).toEqual([]);

    const empty = await refused([...argv(), '--escrow-dir', ws.path('empty-escrow')]);
    expect(empty.code, empty.stderr).toBe(1);
    expect(empty.stderr).toMatch(new RegExp(`^kms-byok: error: no escrow of key ${key.keyId} in .*empty-escrow$`, 'm'));
    expect(empty.stderr).toContain('kms-byok: code: ERR_ESCROW_NOT_FOUND\n');
    expect(empty.ops).toEqual([]);
  });

  it('by alias: the alias is resolved (DescribeKey, nothing else), then refused with nothing written', async () => {
    const r = await refused(['reimport', ALIAS, ...ws.target, '--escrow-dir', ws.path('empty-escrow'), '--identity', alice.path, '--expires-in', '30d']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^kms-byok: error: no escrow of key ${key.keyId} in `, 'm'));
    expect(r.ops).toEqual(['DescribeKey']);
  });

  it('revoke: the same refusal the ceremony makes (ERR_REVOKE_UNSAFE), before any KMS request; --without-escrow still runs', async () => {
    const r = await refused(['revoke', key.keyId, '--all', '--yes', '--reason', 'test', ...ws.target, '--escrow-dir', none(), '--identity', alice.path]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^kms-byok: error: refusing to revoke: escrow directory .* does not exist$/m);
    expect(r.stderr).toMatch(/^kms-byok: hint: .*--without-escrow/m);
    expect(r.stderr).toContain('kms-byok: code: ERR_REVOKE_UNSAFE\n');
    expect(r.ops).toEqual([]);

    const k = await onboardKey(ws, alice.recipient, ['--no-expiry']);
    const forced = await run(['revoke', k.keyId, '--all', '--yes', '--reason', 'test', '--without-escrow', ...ws.target, '--escrow-dir', ws.path('forced-escrow')]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(operations(ws.emu)).toContain('DeleteImportedKeyMaterial');
  });
});

describe('transcript verify on a file that is not a transcript', () => {
  it('says so with its own code and exit 2, not "broken" (exit 3)', async () => {
    const r = await refused(['transcript', 'verify', ws.path('notes.md'), '--json']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^kms-byok: error: .*notes\.md is not a kms-byok transcript$/m);
    expect(r.stderr).toContain('kms-byok: code: ERR_NOT_A_TRANSCRIPT\n');
    expect(r.stderr).not.toMatch(/broken/i);
    // --json: the error document (docs/json.md), not a transcript check result
    expect(JSON.parse(r.stdout)).toMatchObject({ schemaVersion: 1, ok: false, error: { code: 'ERR_NOT_A_TRANSCRIPT' } });
  });

  it('a real transcript with an edited entry, or without its header, is still broken: exit 3', async () => {
    const text = readFileSync(ws.path('escrow/transcript.md'), 'utf8');
    expect((await run(['transcript', 'verify', ws.path('escrow/transcript.md')])).code).toBe(0);
    writeFileSync(ws.path('edited.md'), text.replace('- **outcome**: key ', '- **outcome**: KEY '));
    writeFileSync(ws.path('headless.md'), text.slice(text.indexOf('\n## ')));
    for (const f of ['edited.md', 'headless.md']) {
      const r = await run(['transcript', 'verify', ws.path(f)]);
      expect(r.code, `${f}: ${r.stderr}`).toBe(3);
      expect(r.stderr).toMatch(/^kms-byok: error: the transcript chain is broken at entry \d+/m);
    }
  });

  it('with --head, a transcript replaced by foreign text is broken (exit 3), not a usage error', async () => {
    const r = await run(['transcript', 'verify', ws.path('notes.md'), '--head', 'a'.repeat(64)]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/broken at entry 1: the transcript was replaced/);
  });
});

describe('restore after revoke', () => {
  it('reports the material that was missing, not a "ValidTo before" of now', async () => {
    const k = await onboardKey(ws, alice.recipient, ['--expires-in', '30d']);
    const revoked = await run(['revoke', k.keyId, '--all', '--yes', '--reason', 'drill', ...lifecycle()]);
    expect(revoked.code, revoked.stderr).toBe(0);

    const r = await run(['restore', k.keyId, ...lifecycle(), '--expires-in', '60d']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('ValidTo before');
    expect(r.stdout).toMatch(/^missing before +material 1: not in KMS \(revoked or expired\), imported again from the escrow$/m);
    expect(r.stdout).toMatch(/^material 1 +[0-9a-f]{64} +CURRENT +re-imported +ValidTo \d{4}-/m);

    // JSON: no earliestValidTo (KMS listed none); the material says it was PENDING_IMPORT before.
    expect((await run(['revoke', k.keyId, '--all', '--yes', '--reason', 'drill', ...lifecycle()])).code).toBe(0);
    const j = (await run(['restore', k.keyId, ...lifecycle(), '--expires-in', '60d', '--json'])).json<{ action: string; earliestValidTo?: string; materials: { importState?: string; reimported: boolean }[] }>();
    expect(j.action).toBe('restored');
    expect(j.earliestValidTo).toBeUndefined();
    expect(j.materials).toEqual([expect.objectContaining({ importState: 'IMPORTED', importStateBefore: 'PENDING_IMPORT', reimported: true })]);
  });

  it('reimport of a live key still shows the ValidTo it had before', async () => {
    const k = await onboardKey(ws, alice.recipient, ['--expires-in', '20d']);
    const before = (await run(['status', k.keyId, ...ws.target, '--escrow-dir', ws.path('escrow'), '--json'])).json<{ keys: { validTo: string }[] }>().keys[0]!.validTo;
    const r = await run(['reimport', k.keyId, ...lifecycle(), '--expires-in', '60d']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^ValidTo before +${new Date(before).toISOString().replace('.', '\\.')} \\(earliest\\)$`, 'm'));
    expect(r.stdout).not.toContain('missing before');
  });
});

describe('a --transcript path that cannot be created', () => {
  it('under /proc: the ceremony ends (Node 20 recursive mkdir would spin there) and fails as a record (ERR_TRANSCRIPT, exit 1), saying what KMS did', async () => {
    const r = await run(['reimport', key.keyId, ...ws.target, '--identity', alice.path, '--escrow-dir', ws.path('escrow'), '--expires-in', '30d', '--transcript', '/proc/kms-byok-none/deeper/t.md']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('kms-byok: code: ERR_TRANSCRIPT');
    expect(r.stderr).toMatch(/the ceremony completed in KMS: .*; its transcript entry could not be written/);
    expect(r.stderr).toContain('/proc/kms-byok-none');
    // What the user runs next: the key is fine in KMS.
    const s = await run(['status', key.keyId, ...ws.target, '--escrow-dir', ws.path('escrow'), '--warn-days', '7']);
    expect(s.code, s.stderr).toBe(0);
  }, 60_000);
});

describe('a sealing the escrow would refuse is refused before any KMS request', () => {
  it('onboard --split xor with one recipient (found by the flag fuzzer): exit 2, no key created, nothing written', async () => {
    const r = await refused(['onboard', ...ws.target, '--yes', '--no-expiry', '--recipient', alice.recipient, '--split', 'xor', '--escrow-dir', ws.path('split-escrow')]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('kms-byok: code: ERR_INVALID_ARGUMENT');
    expect(r.stderr).toMatch(/XOR split needs 2 to 255 recipients, got 1/);
    expect(r.ops).toEqual([]);
  });
});
