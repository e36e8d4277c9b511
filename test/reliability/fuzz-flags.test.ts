/**
 * Every flag of every command gets arbitrary strings (issue 9), through `main(argv, io)` against the
 * in-test emulator, with the rest of the command line valid. Whatever the value:
 *   - the exit code is 0, 1, 2 or 3 (never a crash);
 *   - a failure prints `kms-byok: error: …` and `kms-byok: code: ERR_…`, never `internal error`
 *     and never a stack trace;
 *   - a usage error (exit 2: a bad local input) is found before any KMS request (the emulator's
 *     request log does not grow).
 * Flags that name files to WRITE get the value confined to the temp directory (no absolute paths, no
 * `..`): the suite runs as whatever user CI uses and must not scribble outside. `--endpoint-url` and
 * `--profile` are not fuzzed (they would leave loopback / read the real AWS config).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, workspace, type Workspace } from '../e2e/harness.js';
import { custodian } from '../e2e/identities.js';
import { onboardInto, type Custodian } from './ceremonies.js';
import { SLOW, Summary } from './support.js';

const RUNS = SLOW ? 40 : 6;
const summary = new Summary('fuzz-flags');
let ws: Workspace;
let alice: Custodian;
let key: { keyId: string; keyArn: string; escrow: { path: string } };
let E: string;

beforeAll(async () => {
  ws = await workspace();
  alice = await custodian(ws.path('alice.txt'));
  E = ws.path('escrow');
  key = await onboardInto(ws, alice, E, ['--expires-in', '30d', '--alias', 'alias/fuzz']);
}, 120_000);
afterAll(async () => {
  summary.write();
  await ws?.close();
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
}

const target = () => ws.target;
const COMMANDS: Cmd[] = [
  {
    name: 'onboard',
    base: () => ['onboard', ...target(), '--yes', '--recipient', alice.recipient, '--escrow-dir', ws.path('escrow-fz'), '--no-expiry'],
    flags: ['alias', 'description', 'valid-to', 'expires-in', 'wrapping-algorithm', 'wrapping-key-spec', 'recipient', 'recipients-file', 'passphrase-file', 'escrow-dir', 'key-spec', 'key-usage', 'material-file', 'export-parameters', 'key-id', 'region'],
  },
  { name: 'status', base: () => ['status', key.keyId, ...target(), '--escrow-dir', E], flags: ['escrow-dir', 'warn-days', 'max-age', 'region'] },
  {
    name: 'reimport',
    base: () => ['reimport', key.keyId, ...target(), '--escrow-dir', E, '--identity', alice.path, '--before', '1d', '--expires-in', '90d'],
    flags: ['valid-to', 'expires-in', 'before', 'escrow-dir', 'escrow', 'identity', 'passphrase-file', 'transcript', 'region'],
  },
  {
    name: 'restore',
    base: () => ['restore', key.keyId, ...target(), '--escrow-dir', E, '--identity', alice.path, '--no-expiry'],
    flags: ['valid-to', 'expires-in', 'alias', 'replica-region', 'recipient', 'description', 'escrow', 'identity', 'transcript'],
  },
  {
    name: 'rotate',
    base: () => ['rotate', key.keyId, '--in-place', ...target(), '--escrow-dir', E, '--identity', alice.path, '--no-expiry'],
    flags: ['valid-to', 'expires-in', 'alias', 'recipient', 'description', 'escrow', 'identity', 'passphrase-file'],
  },
  { name: 'revoke', base: () => ['revoke', key.keyId, ...target(), '--escrow-dir', E, '--yes'], flags: ['key-material-id', 'reason', 'escrow-dir', 'identity'] },
  { name: 'escrow verify', base: () => ['escrow', 'verify', key.escrow.path], flags: ['identity', 'passphrase-file'] },
  { name: 'escrow inspect', base: () => ['escrow', 'inspect'], flags: [] },
  { name: 'transcript verify', base: () => ['transcript', 'verify', `${E}/transcript.md`], flags: ['head'] },
  { name: 'import', base: () => ['import', ...target()], flags: ['bundle', 'key-id', 'escrow-dir'] },
  { name: 'wrap', base: () => ['wrap', '--recipient', alice.recipient], flags: ['parameters', 'out', 'material-file', 'recipient', 'passphrase-file', 'escrow-dir'] },
];

function confine(flag: string, v: string): string {
  if (!WRITES_FILES.has(flag)) return v;
  return `fz-${v.replace(/\.\./g, '__').replace(/^\/+/, '').replace(/\0/g, '')}`;
}

function base(c: Cmd, flag: string): string[] {
  const b = c.base();
  // An expiry flag replaces the base's expiry choice (otherwise every value is "two expiry choices").
  return EXPIRY.has(flag) ? b.filter((a) => a !== '--no-expiry' && a !== '--expires-in' && a !== '90d') : b;
}

let lastCode = 0;

async function check(argv: string[]): Promise<string | undefined> {
  const before = ws.emu.requests.length;
  const r = await run(argv, { cwd: ws.dir });
  lastCode = r.code;
  const after = ws.emu.requests.length;
  if (![0, 1, 2, 3].includes(r.code)) return `exit ${r.code}`;
  if (r.code !== 0 && r.code !== 3) {
    if (!/^kms-byok: error: /m.test(r.stderr)) return `no error line: ${r.stderr.slice(0, 300)}`;
    if (!/^kms-byok: code: ERR_[A-Z_]+$/m.test(r.stderr)) return `no ERR code: ${r.stderr.slice(0, 300)}`;
  }
  if (/error: internal error/.test(r.stderr)) return `internal error: ${r.stderr.slice(0, 300)}`;
  if (/\n\s+at .+:\d+:\d+/.test(r.stderr)) return `stack trace: ${r.stderr.slice(0, 300)}`;
  if (r.code === 2 && after !== before) return `usage error after ${after - before} KMS request(s): ${ws.emu.requests.slice(before).map((q) => q.operation).join(',')} — ${r.stderr.slice(0, 200)}`;
  return undefined;
}

describe.each(COMMANDS.map((c) => [c.name, c] as const))('%s: arbitrary flag values', (_name, c) => {
  it.each([...c.flags, '(positional)'])('--%s', async (flag) => {
    let tried = 0;
    let rejected = 0;
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(value, async (v) => {
        tried++;
        const argv = flag === '(positional)' ? [...c.base().slice(0, c.name.includes(' ') ? 2 : 1), v, ...c.base().slice(c.name.includes(' ') ? 3 : 2)] : [...base(c, flag), `--${flag}=${confine(flag, v)}`];
        const problem = await check(argv);
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
