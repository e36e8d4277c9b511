/**
 * Custody as ceremonies run it (docs/custody.md): three custodians live in three home directories, each
 * with their own identity, and run the BUILT CLI as separate processes (own HOME and cwd). The recovery
 * host — also a separate process, preloaded with test/support/record-opens.mjs, which logs every path
 * it opens through node:fs — restores and re-imports a 2-of-3 key from handed-over shares; the test
 * asserts the host never opened a file under a custodian's home (and that the recorder saw the files it
 * did open, so the assertion can fail). Then the scheduled renewal: `schedule` refuses a 2-of-3 escrow
 * without a renewal seal, and the command it prints for one with a renewal seal re-imports unattended.
 */
import { BIN, ensureBuilt } from '../support/built-cli.js';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecryptCommand, DescribeKeyCommand, EncryptCommand, ListKeyRotationsCommand } from '@aws-sdk/client-kms';
import { createHandoverIdentity } from '../../src/records/handover-identity.js';
import { operations, workspace, type Workspace } from './harness.js';
import { custodian } from './identities.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RECORDER = join(ROOT, 'test/support/record-opens.mjs');



interface Spawned {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** One machine: a spawned CLI with its own HOME and working directory. */
function machine(home: string, args: string[], opts: { record?: string; env?: Record<string, string> } = {}): Promise<Spawned> {
  return new Promise((resolve, reject) => {
    const preload = opts.record ? ['--import', RECORDER] : [];
    const child = spawn(process.execPath, [...preload, BIN, ...args], {
      cwd: home,
      env: { PATH: process.env.PATH ?? '', HOME: home, ...(opts.record ? { TEST_RECORD_OPENS: opts.record } : {}), ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let ws: Workspace;
let host: string;
let openLog: string;
const people = ['alice', 'bob', 'carol'] as const;
type Person = (typeof people)[number];
const homes = {} as Record<Person | 'scheduler', string>;
const ids = {} as Record<Person | 'scheduler', { recipient: string; path: string }>;
let keyId: string;
let stem: string;

/** The host's own process: recorded, in its own home; KMS commands get the emulator as their target. */
function onHost(args: string[]): Promise<Spawned> {
  const offline = args[0] === 'escrow' && args[1] !== 'verify';
  return machine(host, offline ? args : [...args, ...ws.target], { record: openLog });
}

/** Gives each custodian a copy of the escrow: the sidecar and their own share file, in their home. */
function distribute(fileStem: string): void {
  for (const [i, who] of people.entries()) {
    mkdirSync(join(homes[who], 'escrow'), { recursive: true, mode: 0o700 });
    copyFileSync(join(host, 'escrow', `${fileStem}.age.json`), join(homes[who], 'escrow', `${fileStem}.age.json`));
    copyFileSync(join(host, 'escrow', `${fileStem}.share-${i + 1}.age`), join(homes[who], 'escrow', `${fileStem}.share-${i + 1}.age`));
  }
}

/** A custodian hands over their share on their own machine; the file is then "sent" to the host's inbox. */
async function handOver(who: Person, to: string, fileStem = stem, name = `${who}-${fileStem.slice(0, 8)}-${to.slice(5, 13)}.handover`): Promise<{ inbox: string; json: Record<string, unknown> }> {
  const r = await machine(homes[who], ['escrow', 'hand-over', `escrow/${fileStem}.age`, '--identity', 'id.txt', '--to', to, '--out', name, '--json']);
  expect(r.stderr).not.toMatch(/error/);
  expect(r.code).toBe(0);
  mkdirSync(join(host, 'inbox'), { recursive: true });
  const inbox = join(host, 'inbox', name);
  copyFileSync(join(homes[who], name), inbox);
  return { inbox, json: JSON.parse(r.stdout) as Record<string, unknown> };
}

async function newRecipient(): Promise<string> {
  const r = await machine(host, ['escrow', 'handover-recipient', '--escrow-dir', 'escrow'], { record: openLog });
  expect(r.code).toBe(0);
  const recipient = r.stdout.trim();
  expect(recipient).toMatch(/^age1[0-9a-z]{58}$/);
  return recipient;
}

/** Every path the host opened, and the assertion this suite exists for. */
function assertHostNeverOpenedACustodianFile(): string[] {
  const opened = readFileSync(openLog, 'utf8').split('\n').filter(Boolean);
  for (const who of people) expect(opened.filter((p) => p.startsWith(`${homes[who]}/`) || p === homes[who])).toEqual([]);
  return opened;
}

async function onboardSplit(alias: string, renewal: boolean): Promise<{ keyId: string; stem: string }> {
  const r = await onHost([
    'onboard',
    '--yes',
    '--alias',
    alias,
    ...people.flatMap((p) => ['--recipient', `${p}=${ids[p].recipient}`]),
    '--threshold',
    '2',
    ...(renewal ? ['--renewal-recipient', `scheduler=${ids.scheduler.recipient}`] : []),
    '--expires-in',
    '30d',
    '--escrow-dir',
    'escrow',
    '--json',
  ]);
  expect(r.stderr).not.toMatch(/error:/);
  expect(r.code).toBe(0);
  const doc = JSON.parse(r.stdout) as { keyId: string };
  return { keyId: doc.keyId, stem: `${doc.keyId}.v1` };
}

async function materialState(id: string): Promise<{ state: string | undefined; validTo: string | undefined }> {
  const d = await ws.kms.send(new DescribeKeyCommand({ KeyId: id }));
  return { state: d.KeyMetadata?.KeyState, validTo: d.KeyMetadata?.ValidTo?.toISOString() };
}

async function roundTrip(id: string): Promise<string> {
  const enc = await ws.kms.send(new EncryptCommand({ KeyId: id, Plaintext: new TextEncoder().encode('custody') }));
  const dec = await ws.kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob! }));
  return new TextDecoder().decode(dec.Plaintext);
}

beforeAll(async () => {
  await ensureBuilt();
  ws = await workspace();
  host = ws.path('host');
  mkdirSync(host, { mode: 0o700 });
  openLog = ws.path('host-opens.log');
  writeFileSync(openLog, '');
  for (const who of [...people, 'scheduler'] as const) {
    homes[who] = ws.path(`home-${who}`);
    mkdirSync(homes[who], { mode: 0o700 });
    ids[who] = await custodian(join(homes[who], 'id.txt'));
  }
  ({ keyId, stem } = await onboardSplit('alias/custody', true));
  distribute(stem);
}, 120_000);

afterAll(async () => {
  await ws?.close();
});

describe('2-of-3 recovery by hand-over: no custodian identity reaches the host', () => {
  it('restores a key whose material was deleted, from two handed-over shares', async () => {
    const revoked = await onHost(['revoke', keyId, '--all', '--yes', '--reason', 'drill', '--without-escrow', '--escrow-dir', 'escrow']);
    expect(revoked.code).toBe(0);
    expect((await materialState(keyId)).state).toBe('PendingImport');

    const to = await newRecipient();
    const bob = await handOver('bob', to);
    const carol = await handOver('carol', to);
    expect(bob.json).toMatchObject({ custodian: 'bob', role: 'share', index: 2, keyId, escrowVersion: 1 });
    expect((bob.json.checkValues as string[])[0]).toMatch(/^sha256-kcv:[0-9A-F]{6}$/);
    expect(statSync(join(homes.bob, `${'bob'}-${stem.slice(0, 8)}-${to.slice(5, 13)}.handover`)).mode & 0o777).toBe(0o600);

    const restored = await onHost(['restore', keyId, '--expires-in', '30d', '--escrow-dir', 'escrow', '--share', bob.inbox, '--share', carol.inbox]);
    expect(restored.stderr).not.toMatch(/error:/);
    expect(restored.code).toBe(0);
    expect(restored.stderr).toMatch(/one-time hand-over identity used and removed/);
    expect((await materialState(keyId)).state).toBe('Enabled');
    expect(await roundTrip(keyId)).toBe('custody');
    // The one-time identity is gone; the transcript names the shares that were handed over.
    expect(readdirSync(join(host, 'escrow', '.handover'))).toEqual([]);
    expect(readFileSync(join(host, 'escrow', 'transcript.md'), 'utf8')).toMatch(/\*\*handed over\*\*:\n {2}- share 2 \(bob\) check value sha256-kcv:[0-9A-F]{6}/);

    const opened = assertHostNeverOpenedACustodianFile();
    // The recorder saw what the host did open: the assertion above is not vacuous.
    expect(opened).toContain(bob.inbox);
    expect(opened).toContain(join(host, 'escrow', `${stem}.age`));

    // The same files again: the one-time identity they were sealed to is consumed.
    const replay = await onHost(['restore', keyId, '--expires-in', '30d', '--escrow-dir', 'escrow', '--share', bob.inbox, '--share', carol.inbox]);
    expect(replay.code).toBe(2);
    expect(replay.stderr).toMatch(/code: ERR_HANDOVER_STALE/);
    expect(replay.stderr).toMatch(/already used by a ceremony/);
    expect(replay.stderr).toMatch(/hint: run kms-byok escrow handover-recipient --escrow-dir .* and ask bob to run kms-byok escrow hand-over again/);
    expect(replay.stderr).not.toMatch(/\n\s+at /);
  }, 120_000);

  it('re-imports with a new expiry from two other custodians’ shares', async () => {
    const before = (await materialState(keyId)).validTo;
    const to = await newRecipient();
    const alice = await handOver('alice', to);
    // One share is not enough: the hint names the hand-over commands.
    const short = await onHost(['reimport', keyId, '--expires-in', '60d', '--escrow-dir', 'escrow', '--share', alice.inbox]);
    expect(short.code).toBe(1);
    expect(short.stderr).toMatch(/code: ERR_ESCROW_TOO_FEW_SHARES/);
    expect(short.stderr).toMatch(/hint: ask 1 more custodian to hand over their share: here, kms-byok escrow handover-recipient --escrow-dir DIR .* kms-byok escrow hand-over .* then pass every file with --share FILE/);
    const carol = await handOver('carol', to);
    const r = await onHost(['reimport', keyId, '--expires-in', '60d', '--escrow-dir', 'escrow', '--share', alice.inbox, '--share', carol.inbox, '--json']);
    expect(r.stderr).not.toMatch(/error:/);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ action: 'reimported' });
    const after = (await materialState(keyId)).validTo;
    expect(after).toBeDefined();
    expect(Date.parse(after!)).toBeGreaterThan(Date.parse(before!));
    expect(await roundTrip(keyId)).toBe('custody');
    assertHostNeverOpenedACustodianFile();
  }, 120_000);
});

describe('hand-over bad input', () => {
  it('refuses a share of another escrow, naming both', async () => {
    const other = await onboardSplit('alias/custody-other', false);
    distribute(other.stem);
    const to = await newRecipient();
    const foreign = await handOver('bob', to, other.stem);
    const carol = await handOver('carol', to);
    const r = await machine(host, ['escrow', 'verify', `escrow/${stem}.age`, '--share', foreign.inbox, '--share', carol.inbox], { record: openLog });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/code: ERR_ESCROW_FOREIGN_SHARE/);
    expect(r.stderr).toContain(`share 2 (bob) of ${other.keyId} v1`);
    expect(r.stderr).toContain(`not of ${keyId} v1`);
    // The right pair still opens it, and the one-time identity survives the refused attempt until then.
    const bob = await handOver('bob', to);
    const ok = await machine(host, ['escrow', 'verify', `escrow/${stem}.age`, '--share', bob.inbox, '--share', carol.inbox], { record: openLog });
    expect(ok.code).toBe(0);
  }, 120_000);

  it('refuses a file that is not a hand-over', async () => {
    const to = await newRecipient();
    const carol = await handOver('carol', to);
    const r = await machine(host, ['escrow', 'verify', `escrow/${stem}.age`, '--share', join(host, 'escrow', `${stem}.age.json`), '--share', carol.inbox], { record: openLog });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/code: ERR_HANDOVER_INVALID/);
  }, 60_000);

  it('refuses a hand-over to a one-time identity older than 24 hours, and removes it', async () => {
    const old = await createHandoverIdentity(join(host, 'escrow'), Date.now() - 25 * 3_600_000);
    const bob = await handOver('bob', old.recipient);
    const carol = await handOver('carol', old.recipient);
    const r = await onHost(['restore', keyId, '--expires-in', '30d', '--escrow-dir', 'escrow', '--share', bob.inbox, '--share', carol.inbox]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/which expired \(24 hours\) and was removed/);
    expect(r.stderr).toMatch(/code: ERR_HANDOVER_STALE/);
    expect(existsSync(old.path)).toBe(false);
  }, 60_000);

  it('refuses a hand-over by an identity that holds no share, writing nothing', async () => {
    const to = await newRecipient();
    const stranger = await machine(homes.scheduler, ['escrow', 'hand-over', join(homes.alice, 'escrow', `${stem}.age`), '--identity', 'id.txt', '--to', to, '--out', 'x.handover']);
    expect(stranger.code).toBe(2);
    expect(stranger.stderr).toMatch(/this identity holds no share or component of/);
    expect(existsSync(join(homes.scheduler, 'x.handover'))).toBe(false);
  }, 60_000);
});

describe('acknowledgements that prove receipt', () => {
  it('bob acknowledges only as bob, with his share’s check value; inspect lists who has not acknowledged', async () => {
    const transcript = join(host, 'escrow', 'transcript.md');
    const ack = (who: Person, name: string) =>
      machine(homes[who], ['escrow', 'acknowledge', `escrow/${stem}.age`, '--identity', 'id.txt', '--name', name, '--transcript', transcript, '--json']);
    const wrong = await ack('bob', 'alice');
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/code: ERR_ACK_WRONG_CUSTODIAN/);
    expect(wrong.stderr).toMatch(/this identity holds the part sealed to "bob", not to "alice"/);
    expect(readFileSync(transcript, 'utf8')).not.toMatch(/custodian acknowledgement/);

    const ok = await ack('bob', 'Bob Example');
    expect(ok.stderr).not.toMatch(/error:/);
    expect(ok.code).toBe(0);
    const doc = JSON.parse(ok.stdout) as { label: string; checkValues: string[] };
    expect(doc.label).toBe('bob');
    expect(doc.checkValues[0]).toMatch(/^sha256-kcv:[0-9A-F]{6}$/);
    // The same value the hand-over of that share printed: both are SHA-256 over the share itself.
    const handed = await handOver('bob', await newRecipient());
    expect(handed.json.checkValues).toEqual(doc.checkValues);
    expect(readFileSync(transcript, 'utf8')).toContain(`- **check value (share)**: ${doc.checkValues[0]}`);

    const inspect = await machine(host, ['escrow', 'inspect', `escrow/${stem}.age`, '--json']);
    expect(inspect.code).toBe(0);
    const summary = JSON.parse(inspect.stdout) as { unacknowledged: string[]; renewal: { label: string; recipient: string }[] };
    expect(summary.unacknowledged).toEqual(['alice', 'carol']);
    expect(summary.renewal).toEqual([expect.objectContaining({ label: 'scheduler', recipient: ids.scheduler.recipient })]);
    const text = await machine(host, ['escrow', 'inspect', `escrow/${stem}.age`]);
    expect(text.stdout).toMatch(/not acknowledged\s+alice, carol \(kms-byok escrow acknowledge\)/);
    expect(text.stdout).toMatch(/renewal seal 1\s+scheduler age1/);
  }, 60_000);
});

describe('passphrases worthy of decades', () => {
  it('refuses a weak passphrase with the reason and a generated one; --allow-weak-passphrase only rehearses', async () => {
    writeFileSync(join(host, 'weak.txt'), 'abc\n', { mode: 0o600 });
    const base = ['onboard', '--yes', '--no-expiry', '--escrow-dir', 'escrow-weak', '--passphrase-file', 'weak.txt'];
    const weak = await onHost(base);
    expect(weak.code).toBe(2);
    expect(weak.stderr).toMatch(/code: ERR_WEAK_PASSPHRASE/);
    expect(weak.stderr).toMatch(/too weak for an escrow meant to last decades: .*score 0 of 4/);
    expect(weak.stderr).toMatch(/hint: use a long random passphrase, e\.g\. one generated now: ([A-Z2-7]{5}-){5}[A-Z2-7]{5}/);
    expect(existsSync(join(host, 'escrow-weak'))).toBe(false);
    // The suggestion is accepted as it stands.
    const suggested = /generated now: (\S+) /.exec(weak.stderr)![1]!;
    writeFileSync(join(host, 'strong.txt'), `${suggested}\n`, { mode: 0o600 });
    const strong = await onHost(['onboard', '--yes', '--no-expiry', '--escrow-dir', 'escrow-strong', '--passphrase-file', 'strong.txt', '--json']);
    expect(strong.stderr).not.toMatch(/error:/);
    expect(strong.code).toBe(0);
    // A rehearsal may use a weak one, with a warning; a real target may not.
    const rehearsal = await onHost([...base, '--allow-weak-passphrase', '--json']);
    expect(rehearsal.code).toBe(0);
    expect(rehearsal.stderr).toMatch(/warning: weak passphrase accepted for this rehearsal/);
    const real = await machine(host, [...base, '--allow-weak-passphrase', '--region', 'eu-west-1']);
    expect(real.code).toBe(2);
    expect(real.stderr).toMatch(/--allow-weak-passphrase is for rehearsals only/);
  }, 120_000);
});

describe('scheduled renewal of a 2-of-3 escrow', () => {
  it('refuses a schedule whose identity can never open the escrow, before printing anything', async () => {
    const other = readdirSync(join(host, 'escrow')).find((n) => n.endsWith('.v1.age.json') && !n.startsWith(keyId))!.replace(/\.v1\.age\.json$/, '');
    const r = await machine(host, ['schedule', '--print', 'cron', '--key', other, '--identity', ids.alice.path, '--escrow-dir', join(host, 'escrow'), '--region', 'us-east-1']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/could never open the escrow of .*: it is a 2-of-3 escrow: the identity holds 1 of the 2 needed, and no renewal seal is sealed to it/);
    expect(r.stderr).toMatch(/hint: .*kms-byok escrow reseal .* --renewal-recipient scheduler=/);
    expect(r.stderr).toMatch(/code: ERR_SCHEDULE_NOT_UNATTENDED/);
  }, 60_000);

  it('runs the printed command: the scheduler re-imports through the renewal seal alone', async () => {
    const printed = await machine(homes.scheduler, [
      'schedule', '--print', 'cron', '--key', keyId, '--identity', ids.scheduler.path, '--escrow-dir', join(host, 'escrow'),
      '--region', 'us-east-1', '--before', '80d', '--expires-in', '90d',
    ]);
    expect(printed.stderr).not.toMatch(/error:/);
    expect(printed.code).toBe(0);
    const line = printed.stdout.split('\n').find((l) => l.includes(' reimport '))!;
    const command = /CI=true (\S+) (reimport .*?) >>/.exec(line)!;
    const argv = command[2]!.split(' ');
    expect(argv).toContain('--identity');
    const before = (await materialState(keyId)).validTo;
    const run = await machine(homes.scheduler, argv, { env: { CI: 'true', AWS_ENDPOINT_URL_KMS: ws.emu.endpoint } });
    expect(run.stderr).not.toMatch(/error:/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/result\s+reimported/);
    expect(Date.parse((await materialState(keyId)).validTo!)).toBeGreaterThan(Date.parse(before!));
    const rotations = await ws.kms.send(new ListKeyRotationsCommand({ KeyId: keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }));
    expect(rotations.Rotations?.length).toBe(1);
    expect(await roundTrip(keyId)).toBe('custody');
  }, 120_000);
  // docs/custody.md, "Renewal seals": the seal serves renewal alone. Export, reseal to new custodians
  // and restore with only the scheduler's identity are refused before anything is written or sent to
  // KMS; the custodians (or their hand-overs) must open those. Reimport (above), status and verify work.
  it('refuses export, reseal and restore with only the scheduler identity (exit 2, nothing written, no KMS request)', async () => {
    const sched = homes.scheduler;
    const latest = Math.max(...readdirSync(join(host, 'escrow')).map((n) => new RegExp(`^${keyId}\\.v(\\d+)\\.age\\.json$`).exec(n)?.[1]).filter((v): v is string => v !== undefined).map(Number));
    const escrowFile = join(host, 'escrow', `${keyId}.v${latest}.age`);
    const before = readdirSync(join(host, 'escrow')).sort();
    const kmsBefore = operations(ws.emu).length;
    const attacker = (await custodian(ws.path('attacker.txt'))).recipient;
    const attempts: string[][] = [
      ['escrow', 'export', escrowFile, '--identity', ids.scheduler.path, '--insecure-plaintext', '--out', 'stolen.bin'],
      ['escrow', 'reseal', escrowFile, '--identity', ids.scheduler.path, '--recipient', `evil=${attacker}`],
      ['restore', keyId, '--identity', ids.scheduler.path, '--escrow-dir', join(host, 'escrow'), '--expires-in', '30d', ...ws.target],
    ];
    for (const argv of attempts) {
      const r = await machine(sched, argv, { env: { CI: 'true' } });
      expect(r.code, `${argv.slice(0, 2).join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/only through its renewal seal, which serves renewal alone/);
      expect(r.stderr).toMatch(/hint: the custodians must open it/);
      expect(r.stderr).toMatch(/code: ERR_RENEWAL_SEAL_SCOPE/);
      expect(r.stdout).not.toMatch(/AGE-SECRET-KEY|[0-9a-f]{64}/);
    }
    expect(existsSync(join(sched, 'stolen.bin'))).toBe(false);
    expect(readdirSync(join(host, 'escrow')).sort()).toEqual(before);
    expect(operations(ws.emu).slice(kmsBefore)).toEqual([]);

    // What the scheduler is for still works with the same identity: status and verify (against KMS).
    const status = await machine(sched, ['status', keyId, '--escrow-dir', join(host, 'escrow'), ...ws.target], { env: { CI: 'true' } });
    expect(status.stderr).not.toMatch(/error:/);
    expect(status.code).toBe(0);
    const verify = await machine(sched, ['escrow', 'verify', escrowFile, '--identity', ids.scheduler.path, ...ws.target], { env: { CI: 'true' } });
    expect(verify.stderr).not.toMatch(/error:/);
    expect(verify.code).toBe(0);
  }, 120_000);
});
