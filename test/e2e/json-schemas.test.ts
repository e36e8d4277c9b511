/**
 * Every command's `--json` output, success and error, validated against its published JSON Schema
 * (docs/schemas/, draft 2020-12) with Ajv: the documents are real outputs of the CLI against the
 * emulator. A document whose shape changed (a renamed field, a retyped one) must fail validation.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { main } from '../../src/cli/main.js';
import { Cancellation } from '../../src/cli/cancel.js';
import type { Io } from '../../src/cli/io.js';
import { run, workspace, type RunResult, type Workspace } from './harness.js';
import { custodian } from './identities.js';
import { createFleet, writePlan } from './fleet-helpers.js';

const SCHEMAS = fileURLToPath(new URL('../../docs/schemas/', import.meta.url));
// ajv-formats is CommonJS: its default export arrives as the module object under NodeNext.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv2020) => void;

function loadSchemas(): Ajv2020 {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  for (const f of readdirSync(SCHEMAS).filter((n) => n.endsWith('.schema.json'))) ajv.addSchema(JSON.parse(readFileSync(join(SCHEMAS, f), 'utf8')) as object);
  return ajv;
}

const ajv = loadSchemas();
function schema(name: string): ValidateFunction {
  const v = ajv.getSchema(`${name}.schema.json`);
  if (!v) throw new Error(`no schema docs/schemas/${name}.schema.json`);
  return v;
}

/** Every validated document, by schema: the coverage check at the end reads it. */
const seen = new Map<string, number>();

function expectValid(name: string, doc: unknown): void {
  const v = schema(name);
  const ok = v(doc);
  expect(ok, `${name}: ${JSON.stringify(v.errors, null, 1)}\n${JSON.stringify(doc, null, 1)}`).toBe(true);
  seen.set(name, (seen.get(name) ?? 0) + 1);
}

/** A success: the documented exit codes, one JSON document on stdout, valid against `name`. */
function success(name: string, r: RunResult, codes = [0]): Record<string, unknown> {
  expect(codes, r.stderr).toContain(r.code);
  const doc = r.json();
  expectValid(name, doc);
  return doc;
}

/** A failure with --json: stderr keeps the human lines, stdout is the error document with the same code. */
function failure(r: RunResult, code: string, exit?: number): void {
  expect(r.code, r.stderr).not.toBe(0);
  if (exit !== undefined) expect(r.code).toBe(exit);
  expect(r.stderr).toContain(`kms-byok: code: ${code}`);
  const doc = r.json<{ ok: boolean; error: { code: string; message: string } }>();
  expectValid('error', doc);
  expect(doc.error.code).toBe(code);
  expect(r.stderr).toContain(doc.error.message);
}

let ws: Workspace;
let alice: { identity: string; recipient: string; path: string };
let bob: { identity: string; recipient: string; path: string };
const docs: Record<string, Record<string, unknown>> = {};
const inWs = (argv: string[]) => run(argv, { cwd: ws.dir });

beforeAll(async () => {
  ws = await workspace();
  alice = await custodian(ws.path('alice.txt'));
  bob = await custodian(ws.path('bob.txt'));
});
afterAll(async () => ws?.close());

describe('every command --json validates against docs/schemas', () => {
  let a: { keyId: string; escrow: { path: string } };
  let b: { keyId: string };

  it('onboard (ceremony and --export-parameters), and its error', async () => {
    docs.onboard = success('onboard', await inWs(['onboard', ...ws.target, '--yes', '--json', '--alias', 'alias/json-a', '--expires-in', '90d', '--recipient', alice.recipient, '--escrow-dir', 'escrow']));
    a = docs.onboard as typeof a;
    b = success('onboard', await inWs(['onboard', ...ws.target, '--yes', '--json', '--expires-in', '90d', '--recipient', alice.recipient, '--escrow-dir', 'escrow'])) as typeof b;
    success('onboard', await inWs(['onboard', '--yes', ...ws.target, '--export-parameters', 'params.json', '--expires-in', '30d', '--json']));
    failure(await inWs(['onboard', ...ws.target, '--yes', '--json', '--expires-in', 'soon', '--recipient', alice.recipient]), 'ERR_INVALID_ARGUMENT', 2);
  });

  it('status (ok and attention), and its error', async () => {
    docs.status = success('status', await inWs(['status', a.keyId, ...ws.target, '--escrow-dir', 'escrow', '--json']));
    const attention = success('status', await inWs(['status', ...ws.target, '--escrow-dir', 'escrow', '--warn-days', '100', '--json']), [3]);
    expect(attention.needsAttention).toBe(true);
    success('status', await inWs(['status', a.keyId, ...ws.target, '--escrow-dir', 'escrow', '--format', 'json']));
    failure(await inWs(['status', ...ws.target, '--warn-days', 'many', '--json']), 'ERR_INVALID_ARGUMENT', 2);
    failure(await inWs(['status', ...ws.target, '--warn-days', 'many', '--format=json']), 'ERR_INVALID_ARGUMENT', 2);
    // Without --json the error stays on stderr only.
    const human = await inWs(['status', ...ws.target, '--warn-days', 'many']);
    expect(human.code).toBe(2);
    expect(human.stdout).toBe('');
  });

  it('verify, and its error', async () => {
    success('verify', await inWs(['verify', a.keyId, ...ws.target, '--identity', alice.path, '--escrow-dir', 'escrow', '--json']));
    failure(await inWs(['verify', a.keyId, ...ws.target, '--identity', bob.path, '--escrow-dir', 'escrow', '--json']), 'ERR_ESCROW_DECRYPT');
  });

  it('reimport (one key, several keys with a failure), and its error', async () => {
    docs.reimport = success('reimport', await inWs(['reimport', a.keyId, ...ws.target, '--identity', alice.path, '--escrow-dir', 'escrow', '--expires-in', '90d', '--json']));
    const many = success('reimport', await inWs(['reimport', a.keyId, b.keyId, 'alias/json-none', ...ws.target, '--identity', alice.path, '--escrow-dir', 'escrow', '--expires-in', '90d', '--json']), [1]);
    expect(many.failures).toEqual([expect.objectContaining({ key: 'alias/json-none', error: expect.objectContaining({ code: 'ERR_KMS_NOT_FOUND' }) })]);
    failure(await inWs(['reimport', a.keyId, ...ws.target, '--escrow-dir', 'escrow', '--expires-in', '90d', '--json']), 'ERR_MISSING_INPUT', 2);
    // The --notify-command hook gets the same result shape, in an envelope (notify.schema.json).
    const hook = ['--notify-command', `cat > ${ws.path('notified.json')}`];
    success('reimport', await inWs(['reimport', a.keyId, ...ws.target, '--identity', alice.path, '--escrow-dir', 'escrow', '--expires-in', '90d', '--json', ...hook]));
    const notified = JSON.parse(readFileSync(ws.path('notified.json'), 'utf8')) as { result: unknown };
    expectValid('notify', notified);
    expect(ajv.getSchema('reimport.schema.json#/$defs/result')!(notified.result)).toBe(true);
    failure(await inWs(['reimport', 'alias/json-none', ...ws.target, '--identity', alice.path, '--escrow-dir', 'escrow', '--expires-in', '90d', '--json', ...hook]), 'ERR_KMS_NOT_FOUND');
    const failed = JSON.parse(readFileSync(ws.path('notified.json'), 'utf8')) as { ok: boolean; error: { code: string } };
    expectValid('notify', failed);
    expect(failed).toMatchObject({ ok: false, error: { code: 'ERR_KMS_NOT_FOUND' } });
  });

  it('escrow inspect, verify, export, acknowledge, reseal, and their errors', async () => {
    docs.inspect = success('escrow-inspect', await inWs(['escrow', 'inspect', a.escrow.path, '--json']));
    success('escrow-verify', await inWs(['escrow', 'verify', a.escrow.path, '--identity', alice.path, '--json']));
    success('escrow-export', await inWs(['escrow', 'export', a.escrow.path, '--identity', alice.path, '--insecure-plaintext', '--out', 'plain.bin', '--json']));
    success('escrow-acknowledge', await inWs(['escrow', 'acknowledge', a.escrow.path, '--identity', alice.path, '--name', 'Alice Example', '--json']));
    success('escrow-reseal', await inWs(['escrow', 'reseal', a.escrow.path, '--identity', alice.path, '--recipient', alice.recipient, '--recipient', bob.recipient, '--json']));
    failure(await inWs(['escrow', 'inspect', 'escrow/no-such.v1.age', '--json']), 'ERR_ESCROW_NOT_FOUND');
    failure(await inWs(['escrow', 'verify', a.escrow.path, '--identity', bob.path, '--json']), 'ERR_ESCROW_DECRYPT');
    failure(await inWs(['escrow', 'export', a.escrow.path, '--identity', alice.path, '--out', 'plain2.bin', '--json']), 'ERR_MISSING_INPUT', 2);
    failure(await inWs(['escrow', 'acknowledge', a.escrow.path, '--identity', alice.path, '--json']), 'ERR_MISSING_INPUT', 2);
    failure(await inWs(['escrow', 'reseal', a.escrow.path, '--identity', alice.path, '--json']), 'ERR_MISSING_INPUT', 2);
  });

  it('transcript verify (intact and broken), and its error', async () => {
    const ok = success('transcript-verify', await inWs(['transcript', 'verify', 'escrow/transcript.md', '--json']));
    expect(ok.intact).toBe(true);
    writeFileSync(ws.path('edited.md'), readFileSync(ws.path('escrow/transcript.md'), 'utf8').replace('**outcome**: ', '**outcome**: edited '));
    const broken = success('transcript-verify', await inWs(['transcript', 'verify', 'edited.md', '--json']), [3]);
    expect(broken.intact).toBe(false);
    failure(await inWs(['transcript', 'verify', 'no-such.md', '--json']), 'ERR_FILE_READ');
  });

  it('rotate (in place and to a new key), and its error', async () => {
    success('rotate', await inWs(['rotate', a.keyId, ...ws.target, '--in-place', '--yes', '--no-expiry', '--identity', alice.path, '--escrow-dir', 'escrow', '--json']));
    success('rotate', await inWs(['rotate', 'alias/json-a', ...ws.target, '--new-key', '--yes', '--no-expiry', '--identity', alice.path, '--escrow-dir', 'escrow', '--json']));
    failure(await inWs(['rotate', a.keyId, ...ws.target, '--in-place', '--yes', '--no-expiry', '--identity', alice.path, '--recipient', bob.recipient, '--json']), 'ERR_USAGE', 2);
  });

  it('revoke and restore (same key and new key), and their errors', async () => {
    success('revoke', await inWs(['revoke', b.keyId, ...ws.target, '--all', '--yes', '--reason', 'schema drill', '--escrow-dir', 'escrow', '--identity', alice.path, '--json']));
    success('restore', await inWs(['restore', b.keyId, ...ws.target, '--no-expiry', '--identity', alice.path, '--escrow-dir', 'escrow', '--json']));
    const bEscrow = (docs.status as { keys: { escrow: { path: string } }[] }).keys[0]!.escrow.path.replace(a.keyId, b.keyId);
    success('restore', await inWs(['restore', '--new-key', '--yes', '--escrow', bEscrow, '--alias', 'alias/json-dr', '--no-expiry', ...ws.target, '--identity', alice.path, '--json']));
    failure(await inWs(['revoke', b.keyId, ...ws.target, '--all', '--yes', '--escrow-dir', 'escrow', '--json']), 'ERR_MISSING_INPUT', 2);
    failure(await inWs(['restore', b.keyId, ...ws.target, '--no-expiry', '--escrow-dir', 'escrow', '--json']), 'ERR_MISSING_INPUT', 2);
  });

  it('wrap and import (and --record-only), and their errors', async () => {
    success('wrap', await inWs(['wrap', '--parameters', 'params.json', '--recipient', alice.recipient, '--out', 'import.json', '--escrow-dir', 'escrow-ag', '--json']));
    success('import', await inWs(['import', ...ws.target, '--bundle', 'import.json', '--escrow-dir', 'escrow-ag', '--json']));
    success('import', await inWs(['import', ...ws.target, '--bundle', 'import.json', '--escrow-dir', 'escrow-ag', '--record-only', '--json']));
    failure(await inWs(['wrap', '--parameters', 'no-such.json', '--recipient', alice.recipient, '--json']), 'ERR_FILE_READ', 2);
    failure(await inWs(['import', ...ws.target, '--bundle', 'alice.txt', '--json']), 'ERR_BUNDLE_FORMAT');
  });

  it('schedule, policy (foreign documents: no schemaVersion), emulator, wizard', async () => {
    const base = ['--key', 'alias/json-a', '--identity', alice.path, '--region', 'us-east-1', '--json'];
    success('schedule', await inWs(['schedule', '--print', 'systemd', ...base]));
    success('schedule', await inWs(['schedule', '--print', 'cron', ...base]));
    const k8s = success('schedule', await inWs(['schedule', '--print', 'kubernetes', '--image', 'registry.example.com/kms-byok:0.1.0', ...base]));
    expect(k8s.schemaVersion).toBeUndefined();
    failure(await inWs(['schedule', '--print', 'launchd', ...base]), 'ERR_INVALID_ARGUMENT', 2);
    const policy = success('policy', await inWs(['policy', '--identity', 'reimport', '--account', '111122223333', '--json']));
    expect(policy.schemaVersion).toBeUndefined();
    failure(await inWs(['policy', '--identity', 'reimport', '--account', '1234', '--json']), 'ERR_INVALID_ARGUMENT', 2);
    success('emulator', await emulatorRun(['emulator', '--port', '0', '--json']));
    failure(await inWs(['emulator', '--port', '99999', '--json']), 'ERR_INVALID_ARGUMENT', 2);
    failure(await inWs(['wizard', '--json']), 'ERR_NOT_A_TERMINAL', 2);
    failure(await inWs(['no-such-command', '--json']), 'ERR_USAGE', 2);
  });

  it('fleet reports (reimport, restore, status --plan) and an invalid plan', async () => {
    const keys = await createFleet(ws.emu.endpoint, ws.dir, alice.recipient, ['us-east-1'], 2);
    const plan = writePlan(ws.dir, 'plan.json', keys, { expiresIn: '60d', warnDays: 100 });
    success('fleet', await inWs(['reimport', '--plan', plan, '--endpoint-url', ws.emu.endpoint, '--json']));
    success('fleet', await inWs(['restore', '--plan', plan, '--endpoint-url', ws.emu.endpoint, '--json']));
    const st = success('fleet', await inWs(['status', '--plan', plan, '--endpoint-url', ws.emu.endpoint, '--json']), [3]);
    docs.fleetStatus = st;
    expect((st.keys as { keyState?: string; action?: string; attention?: string[] }[])[0]).toMatchObject({ keyState: 'Enabled', attention: [expect.stringContaining('within 100 days')] });
    expect((st.keys as { action?: string }[])[0]!.action).toBeUndefined();
    // Shards (docs/fleet.md, "Shards"): the dry run, a shard's report, the merged report.
    success('fleet-shards', await inWs(['reimport', '--plan', plan, '--shard', '0/2', '--dry-run', '--json']));
    const sharded = success('fleet', await inWs(['reimport', '--plan', plan, '--shard', '0/1', '--state-dir', ws.path('runs'), '--endpoint-url', ws.emu.endpoint, '--json']));
    expect(sharded.shard).toMatchObject({ index: 0, count: 1 });
    success('fleet-report', await inWs(['fleet', 'report', '--plan', plan, '--state-dir', ws.path('runs'), '--json']));
    failure(await inWs(['fleet', 'report', '--plan', plan, '--state-dir', ws.path('none'), '--json']), 'ERR_USAGE', 2);
    const bad = writePlan(ws.dir, 'bad.json', [keys[0]!, keys[0]!], { expiresIn: '60d' });
    failure(await inWs(['reimport', '--plan', bad, '--endpoint-url', ws.emu.endpoint, '--json']), 'ERR_PLAN_INVALID', 2);
  });

  it('discover (the caller\'s own account: keys with and without escrow, a written plan), and its error', async () => {
    const d = success('discover', await inWs(['discover', '--regions', 'us-east-1', '--escrow-dir', 'escrow', '--endpoint-url', ws.emu.endpoint, '--write-plan', 'discovered.json', '--json']), [0, 3]);
    expect((d.keys as unknown[]).length).toBeGreaterThan(0);
    expect(d.plan).toBe(ws.path('discovered.json'));
    failure(await inWs(['discover', '--regions', 'us-east-1,mars-1', '--escrow-dir', 'escrow', '--endpoint-url', ws.emu.endpoint, '--json']), 'ERR_INVALID_ARGUMENT', 2);
  });

  it('retire (evidence and a step) and audit, and their errors', async () => {
    success('retire', await inWs(['retire', a.keyId, ...ws.target, '--escrow-dir', 'escrow', '--json']));
    const spare = (await ws.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const disabled = success('retire', await inWs(['retire', spare, '--disable', '--yes', '--force', '--reason', 'schema check', ...ws.target, '--escrow-dir', 'escrow', '--json']));
    expect(disabled).toMatchObject({ action: 'disable', stateAfter: 'Disabled' });
    failure(await inWs(['retire', spare, '--schedule-deletion', '--pending-window', '6d', '--yes', '--reason', 'x', ...ws.target, '--json']), 'ERR_INVALID_ARGUMENT', 2);
    success('audit', await inWs(['audit', ...ws.target, '--escrow-dir', 'escrow', '--json']), [0, 3]);
    failure(await inWs(['audit', ...ws.target, '--escrow-dir', 'escrow', '--since', '91d', '--json']), 'ERR_INVALID_ARGUMENT', 2);
  });

  it('a command stopped by a signal prints the error document ERR_CANCELLED with the re-run command', async () => {
    const cancel = new Cancellation();
    cancel.request('SIGTERM');
    const r = await runWith(['reimport', a.keyId, ...ws.target, '--escrow-dir', ws.path('escrow'), '--identity', alice.path, '--expires-in', '90d', '--json'], cancel);
    failure(r, 'ERR_CANCELLED');
    expect(r.json<{ error: { hint: string } }>().error.hint).toContain('re-run the same command to finish: kms-byok reimport');
  });

  it('every published schema was exercised by a real document', () => {
    // hsm.schema.json needs a PKCS#11 token: test/hsm/hsm-lifecycle.test.ts validates real documents on SoftHSM2.
    const published = readdirSync(SCHEMAS).filter((n) => n.endsWith('.schema.json') && n !== 'common.schema.json' && n !== 'hsm.schema.json').map((n) => n.replace('.schema.json', ''));
    expect(published.filter((n) => !seen.has(n))).toEqual([]);
  });
});

describe('a change of shape fails validation', () => {
  const renamed = (doc: Record<string, unknown>, from: string, to: string) => {
    const { [from]: value, ...rest } = doc;
    return { ...rest, [to]: value };
  };

  it('renamed, retyped or missing fields are refused', () => {
    const onboard = docs.onboard!;
    expect(schema('onboard')(onboard)).toBe(true);
    expect(schema('onboard')(renamed(onboard, 'accountId', 'account'))).toBe(false);
    expect(schema('onboard')({ ...onboard, escrow: (onboard.escrow as { path: string }).path })).toBe(false);
    expect(schema('onboard')({ ...onboard, escrow: renamed(onboard.escrow as Record<string, unknown>, 'path', 'file') })).toBe(false);
    expect(schema('onboard')({ ...onboard, schemaVersion: 2 })).toBe(false);
    expect(schema('onboard')(renamed(onboard, 'schemaVersion', 'version'))).toBe(false);

    const status = docs.status!;
    expect(schema('status')({ ...renamed(status, 'needsAttention', 'attention'), attention: false })).toBe(false);
    const key = (status.keys as Record<string, unknown>[])[0]!;
    expect(schema('status')({ ...status, keys: [{ ...key, escrow: { ...(key.escrow as object), exists: true, matches: true } }] })).toBe(false);
    expect(schema('status')({ ...status, keys: [{ ...key, attention: key.attention === undefined ? true : (key.attention as string[]).length > 0 }] })).toBe(false);

    const reimport = docs.reimport!;
    expect(schema('reimport')({ ...reimport, escrow: (reimport.escrow as { path: string }).path })).toBe(false);
    expect(schema('escrow-inspect')(renamed(docs.inspect!, 'accountId', 'account'))).toBe(false);

    const fleet = docs.fleetStatus!;
    const row = (fleet.keys as Record<string, unknown>[])[0]!;
    expect(schema('fleet')({ ...fleet, keys: [renamed(row, 'keyState', 'action')] })).toBe(false);
    expect(schema('error')({ schemaVersion: 1, ok: false, code: 'ERR_USAGE', message: 'x' })).toBe(false);
  });
});

/** Runs main with a given Cancellation (the harness's `run` never cancels). */
async function runWith(argv: string[], cancel: Cancellation): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: { write: (t) => void (stdout += t) },
    stderr: { write: (t) => void (stderr += t) },
    stdin: Readable.from([]),
    env: {},
    cwd: ws.dir,
    interactive: false,
    stderrIsTTY: false,
    cancel,
  };
  const code = await main(argv, io);
  return { code, stdout, stderr, json: <T,>() => JSON.parse(stdout) as T };
}

/** `kms-byok emulator --json` in-process: stopped (as by Ctrl-C) once it has printed its line. */
async function emulatorRun(argv: string[]): Promise<RunResult> {
  const cancel = new Cancellation();
  let stdout = '';
  let stderr = '';
  let listening!: () => void;
  const printed = new Promise<void>((resolve) => (listening = resolve));
  const io: Io = {
    stdout: { write: (t) => ((stdout += t), listening()) },
    stderr: { write: (t) => void (stderr += t) },
    stdin: Readable.from([]),
    env: {},
    cwd: ws.dir,
    interactive: false,
    stderrIsTTY: false,
    cancel,
  };
  const done = main(argv, io);
  await Promise.race([printed, done]);
  cancel.request('SIGINT');
  const code = await done;
  return { code, stdout, stderr, json: <T,>() => JSON.parse(stdout) as T };
}
