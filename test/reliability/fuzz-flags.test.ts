/**
 * Every flag of every command gets arbitrary strings (docs/reliability.md), through `main(argv, io)` against the
 * in-test emulator, with the rest of the command line valid. Whatever the value:
 *   - the exit code is 0, 1, 2 or 3 (never a crash);
 *   - a failure prints `kms-byok: error: …` and `kms-byok: code: ERR_…`, never `internal error`
 *     and never a stack trace;
 *   - a usage error (exit 2: a bad local input) is found before any KMS request (the emulator's
 *     request log does not grow);
 *   - for commands that never talk to KMS (`policy`, `schedule`, `escrow …`, `transcript verify`,
 *     `wrap`), a refused value of a flag that does not name a file is a usage error: exit 2 (a file
 *     that cannot be read or written may fail with exit 1 and its file code).
 * And values that are certainly wrong (the table `BAD`) must each be refused with their specific code
 * and exit 2, before any KMS request.
 * Flags that name files to WRITE get the value confined to the temp directory (no absolute paths, no
 * `..`): the suite runs as whatever user CI uses and must not scribble outside. `--endpoint-url` and
 * `--profile` are not fuzzed (they would leave loopback / read the real AWS config), nor
 * `--notify-command` (it runs its value as a shell command); `emulator` (serves until interrupted) and
 * `wizard` (needs a terminal) are not fuzzed here.
 */
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { run, type Workspace } from '../e2e/harness.js';
import { onboardInto, type Custodian } from './ceremonies.js';
import { SLOW, badManners, reliabilityWorkspace } from './support.js';

const RUNS = SLOW ? 40 : 6;
let ws: Workspace;
let alice: Custodian;
let key: { keyId: string; keyArn: string; escrow: { path: string } };
let E: string;
/** A copy of the key's escrow directory: escrow reseal/export/acknowledge write beside the escrow. */
let copy: string;
let plan: string;

const { summary } = reliabilityWorkspace('fuzz-flags', async (r) => {
  ({ ws, alice } = r);
  E = ws.path('escrow');
  // RSA_2048 wrapping: the emulator unwraps it faster when a fuzzed command line is valid and runs.
  key = await onboardInto(ws, alice, E, ['--expires-in', '30d', '--alias', 'alias/fuzz', '--wrapping-key-spec', 'RSA_2048']);
  copy = ws.path('escrow-copy');
  cpSync(E, copy, { recursive: true });
  plan = ws.path('plan.json');
  writeFileSync(plan, JSON.stringify({ version: 1, defaults: { escrowDir: E, identity: alice.path, expiresIn: '90d' }, keys: [{ key: key.keyId, region: 'us-east-1' }] }));
});

const WRITES_FILES = new Set(['escrow-dir', 'out', 'export-parameters', 'transcript', 'emulator-state']);
const EXPIRY = new Set(['valid-to', 'expires-in', 'no-expiry']);

/** Values most likely to break a parser, then arbitrary ones. */
const value = fc.oneof(
  fc.constantFrom('', '-', '--', ' ', '0', '-1', '1e309', 'NaN', 'Infinity', '365d', '366d', '0d', '99999999999999999999d', '1.5d', 'alias/', 'alias/aws/x', 'alias/fuzz',
    '\u0000', '\u202e', '../../x', 'x'.repeat(5_000), '2026-13-45T99:99:99Z', '1970-01-01T00:00:00Z', '9999-12-31T23:59:59Z', 'age1', 'AGE-SECRET-KEY-1', 'arn:aws:kms:us-east-1:000000000000:key/x',
    'RSA_4096', 'SYMMETRIC_DEFAULT', 'xor', '2', '%s%n', '${PATH}', '$(id)', '; rm -rf /', '\r\n'),
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 64 }),
  fc.stringMatching(/^[0-9]{1,4}[dhms]?$/),
);

interface Cmd {
  name: string;
  base: () => string[];
  flags: string[];
  /** How many argv words name the command (`escrow reseal`: 2). */
  words?: number;
  /** Whether the base has a positional right after the command words (replaced by the fuzzed one). */
  positional?: boolean;
  /** Never talks to KMS: a refused value of a flag that names no file must be a usage error (exit 2). */
  local?: boolean;
  /** Flags (and the positional) whose value names a file the command reads or writes. */
  files?: string[];
}

const target = () => ws.target;
const ROLE = (r: string) => `arn:aws:iam::111122223333:role/${r}`;
const POLICY = () => ['policy', '--account', '111122223333', '--custodian-role', ROLE('custodian'), '--reimport-role', ROLE('reimport'), '--key-user', ROLE('app'), '--auditor', ROLE('audit'), '--json'];
const SCHEDULE = () => ['schedule', '--print', 'systemd', '--key', 'alias/payments', '--identity', '/etc/kms-byok/custodian.txt', '--json'];
let exports = 0;
const COMMANDS: Cmd[] = [
  {
    name: 'onboard',
    base: () => ['onboard', ...target(), '--yes', '--recipient', alice.recipient, '--escrow-dir', ws.path('escrow-fz'), '--no-expiry'],
    flags: ['alias', 'description', 'valid-to', 'expires-in', 'wrapping-algorithm', 'wrapping-key-spec', 'recipient', 'recipients-file', 'passphrase-file', 'escrow-dir', 'key-spec', 'key-usage', 'material-file', 'export-parameters', 'key-id', 'region', 'threshold', 'split', 'transcript', 'apply-policy', 'read-timeout'],
  },
  { name: 'status', base: () => ['status', key.keyId, ...target(), '--escrow-dir', E], positional: true, flags: ['escrow-dir', 'warn-days', 'max-age', 'region', 'format', 'read-timeout'] },
  {
    name: 'reimport',
    base: () => ['reimport', key.keyId, ...target(), '--escrow-dir', E, '--identity', alice.path, '--before', '1d', '--expires-in', '90d'],
    positional: true,
    flags: ['valid-to', 'expires-in', 'before', 'escrow-dir', 'escrow', 'identity', 'passphrase-file', 'transcript', 'region'],
  },
  // Fleet flags; --before 1d: the key is not due, so a valid line does not re-import it.
  { name: 'reimport --plan', words: 1, base: () => ['reimport', '--plan', plan, '--endpoint-url', ws.emu.endpoint, '--before', '1d'], flags: ['plan', 'concurrency', 'rate', 'rate-scale', 'progress-interval', 'before'] },
  { name: 'status --plan', words: 1, base: () => ['status', '--plan', plan, '--endpoint-url', ws.emu.endpoint], flags: ['plan', 'concurrency', 'rate'] },
  {
    name: 'restore',
    base: () => ['restore', key.keyId, ...target(), '--escrow-dir', E, '--identity', alice.path, '--no-expiry'],
    positional: true,
    flags: ['valid-to', 'expires-in', 'alias', 'replica-region', 'recipient', 'description', 'escrow', 'identity', 'transcript'],
  },
  {
    name: 'rotate',
    base: () => ['rotate', key.keyId, '--in-place', ...target(), '--escrow-dir', E, '--identity', alice.path, '--no-expiry'],
    positional: true,
    flags: ['valid-to', 'expires-in', 'alias', 'recipient', 'description', 'escrow', 'identity', 'passphrase-file'],
  },
  { name: 'revoke', base: () => ['revoke', key.keyId, ...target(), '--escrow-dir', E, '--yes'], positional: true, flags: ['key-material-id', 'reason', 'escrow-dir', 'identity'] },
  { name: 'verify', base: () => ['verify', key.keyId, ...target(), '--escrow-dir', E, '--identity', alice.path], positional: true, flags: ['escrow-dir', 'escrow', 'identity', 'passphrase-file'] },
  { name: 'escrow verify', words: 2, positional: true, local: true, files: ['(positional)', 'identity', 'passphrase-file'], base: () => ['escrow', 'verify', key.escrow.path], flags: ['identity', 'passphrase-file'] },
  { name: 'escrow inspect', words: 2, local: true, files: ['(positional)'], base: () => ['escrow', 'inspect'], flags: [] },
  {
    name: 'escrow reseal',
    words: 2,
    positional: true,
    local: true,
    files: ['(positional)', 'identity', 'passphrase-file', 'recipients-file', 'new-passphrase-file'],
    base: () => ['escrow', 'reseal', `${copy}/${key.keyId}.v1.age`, '--identity', alice.path, '--recipient', alice.recipient],
    flags: ['identity', 'passphrase-file', 'recipient', 'recipients-file', 'new-passphrase-file', 'threshold', 'split'],
  },
  {
    name: 'escrow export',
    words: 2,
    positional: true,
    local: true,
    files: ['(positional)', 'identity', 'passphrase-file', 'out'],
    base: () => ['escrow', 'export', `${copy}/${key.keyId}.v1.age`, '--identity', alice.path, '--insecure-plaintext', '--out', `export-${++exports}.bin`],
    flags: ['identity', 'passphrase-file', 'out', 'material'],
  },
  {
    name: 'escrow acknowledge',
    words: 2,
    positional: true,
    local: true,
    files: ['(positional)', 'identity', 'transcript'],
    base: () => ['escrow', 'acknowledge', `${copy}/${key.keyId}.v1.age`, '--identity', alice.path, '--name', 'Alice Example'],
    flags: ['identity', 'name', 'transcript'],
  },
  { name: 'transcript verify', words: 2, positional: true, local: true, files: ['(positional)'], base: () => ['transcript', 'verify', `${E}/transcript.md`], flags: ['head'] },
  { name: 'import', base: () => ['import', ...target()], flags: ['bundle', 'key-id', 'escrow-dir'] },
  { name: 'wrap', local: true, files: ['parameters', 'out', 'material-file', 'recipients-file', 'passphrase-file', 'escrow-dir', 'identity'], base: () => ['wrap', '--recipient', alice.recipient], flags: ['parameters', 'out', 'material-file', 'recipient', 'passphrase-file', 'escrow-dir', 'identity'] },
  {
    name: 'policy',
    local: true,
    base: POLICY,
    flags: ['account', 'partition', 'custodian-role', 'reimport-role', 'key-user', 'auditor', 'key-spec', 'key-usage', 'wrapping-algorithm', 'wrapping-key-spec', 'expiration-model', 'max-valid-to-days', 'valid-to-max'],
  },
  { name: 'policy --identity', words: 1, local: true, base: () => ['policy', '--account', '111122223333', '--identity', 'custodian', '--json'], flags: ['identity', 'key-arn', 'region', 'key-spec', 'expiration-model'] },
  {
    name: 'schedule',
    local: true,
    files: ['plan'],
    base: SCHEDULE,
    flags: ['print', 'command', 'key', 'plan', 'before', 'expires-in', 'warn-days', 'identity', 'passphrase-file', 'escrow-dir', 'region', 'profile', 'on-calendar', 'name', 'bin', 'user'],
  },
  { name: 'schedule --print cron', words: 1, local: true, base: () => [...SCHEDULE(), '--print', 'cron'], flags: ['cron', 'log'] },
  {
    name: 'schedule --print kubernetes',
    words: 1,
    local: true,
    base: () => [...SCHEDULE(), '--print', 'kubernetes', '--image', 'registry.example.com/kms-byok:0.1.0'],
    flags: ['image', 'service-account', 'secret', 'escrow-claim', 'name'],
  },
];

/**
 * Values that are certainly wrong, each with the code it must be refused with (exit 2, before any KMS
 * request): [command (a name in COMMANDS), flag, value, code].
 */
const BAD: [string, string, string, string][] = [
  ['policy', 'account', '12345', 'ERR_INVALID_ARGUMENT'],
  ['policy', 'partition', 'aws-mars', 'ERR_INVALID_ARGUMENT'],
  ['policy', 'custodian-role', 'arn:aws:iam::111122223333:root', 'ERR_INVALID_ARGUMENT'],
  ['policy', 'key-user', 'app-role', 'ERR_INVALID_ARGUMENT'],
  ['policy', 'auditor', ROLE('custodian'), 'ERR_POLICY_SEPARATION'],
  ['policy', 'key-spec', 'RSA_1024', 'ERR_INVALID_ARGUMENT'],
  ['policy', 'key-usage', 'SIGN', 'ERR_INVALID_ARGUMENT'],
  // A key that cannot exist: symmetric keys only encrypt; HMAC keys only MAC.
  ['policy', 'key-usage', 'SIGN_VERIFY', 'ERR_INVALID_COMBINATION'],
  ['policy', 'key-usage', 'GENERATE_VERIFY_MAC', 'ERR_INVALID_COMBINATION'],
  ['policy', 'wrapping-algorithm', 'RSAES_PKCS1_V1_5', 'ERR_INVALID_ARGUMENT'],
  ['policy', 'wrapping-key-spec', 'RSA_1024', 'ERR_INVALID_ARGUMENT'],
  ['policy', 'expiration-model', 'SOMETIMES', 'ERR_INVALID_ARGUMENT'],
  ['policy', 'max-valid-to-days', '366', 'ERR_INVALID_ARGUMENT'],
  ['policy', 'valid-to-max', '2001-01-01T00:00:00Z', 'ERR_INVALID_VALID_TO'],
  ['policy', 'valid-to-max', 'tomorrow', 'ERR_INVALID_VALID_TO'],
  ['policy --identity', 'identity', 'admin', 'ERR_INVALID_ARGUMENT'],
  ['policy --identity', 'region', 'mars-1', 'ERR_INVALID_ARGUMENT'],
  ['policy --identity', 'key-arn', 'arn:aws:kms:us-east-1:999999999999:key/1234abcd-12ab-34cd-56ef-1234567890ab', 'ERR_INVALID_ARGUMENT'],
  ['policy --identity', 'key-arn', 'alias/payments', 'ERR_INVALID_ARGUMENT'],
  ['schedule', 'print', 'launchd', 'ERR_INVALID_ARGUMENT'],
  ['schedule', 'command', 'rotate', 'ERR_SCHEDULE_NOT_UNATTENDED'],
  ['schedule', 'before', '90d', 'ERR_INVALID_COMBINATION'],
  ['schedule', 'before', 'soon', 'ERR_INVALID_ARGUMENT'],
  // Every scheduled run would refuse these (exit 2): the schedule must not be printed.
  ['schedule', 'expires-in', '400d', 'ERR_INVALID_VALID_TO'],
  ['schedule', 'region', 'mars', 'ERR_INVALID_ARGUMENT'],
  ['schedule', 'warn-days', 'soon', 'ERR_INVALID_ARGUMENT'],
  ['schedule', 'identity', '/etc/kms-byok/custodian.txt;id', 'ERR_INVALID_ARGUMENT'],
  ['schedule', 'escrow-dir', '/srv/escrow; rm -rf /', 'ERR_INVALID_ARGUMENT'],
  ['schedule', 'on-calendar', 'daily\nExecStartPre=/bin/sh', 'ERR_INVALID_ARGUMENT'],
  ['schedule', 'name', 'Payments Keys', 'ERR_INVALID_ARGUMENT'],
  ['schedule', 'user', 'root\nUser=root', 'ERR_INVALID_ARGUMENT'],
  ['schedule', 'bin', 'kms-byok', 'ERR_INVALID_ARGUMENT'],
  ['schedule --print cron', 'cron', '61 * * * *', 'ERR_INVALID_ARGUMENT'],
  ['schedule --print cron', 'log', '/var/log/kms byok.log', 'ERR_INVALID_ARGUMENT'],
  ['schedule --print kubernetes', 'image', 'registry.example.com/kms-byok:0.1.0 --privileged', 'ERR_INVALID_ARGUMENT'],
  ['schedule --print kubernetes', 'secret', 'Custodian_Identity', 'ERR_INVALID_ARGUMENT'],
  ['schedule --print kubernetes', 'service-account', 'kms byok', 'ERR_INVALID_ARGUMENT'],
  ['schedule --print kubernetes', 'escrow-claim', '-escrow-', 'ERR_INVALID_ARGUMENT'],
  ['escrow reseal', 'recipient', 'age1notarecipient', 'ERR_INVALID_RECIPIENT'],
  ['escrow reseal', 'threshold', '3', 'ERR_INVALID_ARGUMENT'],
  ['escrow reseal', 'split', 'shamir', 'ERR_INVALID_ARGUMENT'],
  ['escrow export', 'material', '7', 'ERR_INVALID_ARGUMENT'],
  ['escrow export', 'out', '-', 'ERR_MISSING_INPUT'],
  ['escrow acknowledge', 'name', '   ', 'ERR_MISSING_INPUT'],
];

function confine(flag: string, v: string): string {
  if (!WRITES_FILES.has(flag)) return v;
  return `fz-${v.replace(/\.\./g, '__').replace(/^\/+/, '').replace(/\0/g, '')}`;
}

function base(c: Cmd, flag: string): string[] {
  const b = c.base();
  // An expiry flag replaces the base's expiry choice (otherwise every value is "two expiry choices").
  return EXPIRY.has(flag) && c.name !== 'schedule' ? b.filter((a) => a !== '--no-expiry' && a !== '--expires-in' && a !== '90d') : b;
}

function argvFor(c: Cmd, flag: string, v: string, confined = true): string[] {
  if (flag !== '(positional)') return [...base(c, flag), `--${flag}=${confined ? confine(flag, v) : v}`];
  const b = c.base();
  const words = c.words ?? (c.name.includes(' ') ? 2 : 1);
  return [...b.slice(0, words), v, ...b.slice(words + (c.positional ? 1 : 0))];
}

let lastCode = 0;

async function check(argv: string[], strict = false): Promise<string | undefined> {
  const before = ws.emu.requests.length;
  const r = await run(argv, { cwd: ws.dir });
  lastCode = r.code;
  const after = ws.emu.requests.length;
  if (![0, 1, 2, 3].includes(r.code)) return `exit ${r.code}`;
  if (r.code !== 0 && r.code !== 3) {
    if (!/^kms-byok: error: /m.test(r.stderr)) return `no error line: ${r.stderr.slice(0, 300)}`;
    if (!/^kms-byok: code: ERR_[A-Z_]+$/m.test(r.stderr)) return `no ERR code: ${r.stderr.slice(0, 300)}`;
  }
  if (/error: internal error/.test(r.stderr) || /code: ERR_INTERNAL$/m.test(r.stderr)) return `internal error: ${r.stderr.slice(0, 300)}`;
  if (/\n\s+at .+:\d+:\d+/.test(r.stderr)) return `stack trace: ${r.stderr.slice(0, 300)}`;
  if (r.code === 2 && after !== before) return `usage error after ${after - before} KMS request(s): ${ws.emu.requests.slice(before).map((q) => q.operation).join(',')} — ${r.stderr.slice(0, 200)}`;
  if (strict && r.code !== 0 && r.code !== 2) return `a bad value must be a usage error (exit 2): exit ${r.code} ${r.stderr.slice(0, 300)}`;
  return undefined;
}

describe('certainly wrong values: refused with their code, exit 2, before any KMS request', () => {
  it.each(BAD)('%s --%s %j: %s', async (name, flag, v, code) => {
    const c = COMMANDS.find((x) => x.name === name)!;
    expect(c.flags, `${name} fuzzes --${flag} too`).toContain(flag);
    const before = ws.emu.requests.length;
    // Hand-picked values: not confined (none writes outside the temp directory).
    const argv = argvFor(c, flag, v, false);
    const r = await run(argv, { cwd: ws.dir });
    expect(r.stderr).toContain(`kms-byok: code: ${code}\n`);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at .+:\d+:\d+/);
    expect(ws.emu.requests.length).toBe(before);
    summary.tampered(`CLI flag values (${name})`, 1, 1);
  });

  it('and the same command lines with a good value are accepted', async () => {
    // The base lines themselves are valid: a refusal above is the value's doing.
    for (const name of new Set(BAD.map(([n]) => n))) {
      const c = COMMANDS.find((x) => x.name === name)!;
      const r = await run(c.base(), { cwd: ws.dir });
      expect(r.code, `${name}: ${r.stderr}`).toBe(0);
    }
  });
});

describe('escrow acknowledge with a --transcript that cannot be written', () => {
  // Found by the --transcript property below: a directory crashed it (internal error, EISDIR).
  it('a directory: fails with ERR_FILE_READ, not an internal error', async () => {
    mkdirSync(ws.path('a-directory'));
    const r = await run(['escrow', 'acknowledge', `${copy}/${key.keyId}.v1.age`, '--identity', alice.path, '--name', 'Alice Example', '--transcript', ws.path('a-directory')]);
    expect(r.stderr).toContain('kms-byok: code: ERR_FILE_READ\n');
    expect([1, 2]).toContain(r.code);
    expect(badManners(r)).toBeUndefined();
  });
});

describe.each(COMMANDS.map((c) => [c.name, c] as const))('%s: arbitrary flag values', (_name, c) => {
  it.each([...c.flags, '(positional)'])('--%s', async (flag) => {
    let tried = 0;
    let rejected = 0;
    let accepted = 0;
    const strict = c.local === true && !(c.files ?? []).includes(flag);
    await fc.assert(
      fc.asyncProperty(value, async (v) => {
        tried++;
        const argv = argvFor(c, flag, v);
        const problem = await check(argv, strict);
        if (!problem) {
          if (lastCode === 1 || lastCode === 2) rejected++;
          else accepted++;
        }
        expect(problem, `${JSON.stringify(argv.slice(0, 1).concat(argv.filter((a) => a.startsWith(`--${flag}=`))))}`).toBeUndefined();
      }),
      { numRuns: RUNS },
    );
    summary.tampered(`CLI flag values (${c.name})`, tried, rejected, accepted);
  }, 120_000);
});
