/**
 * Exit 2 means "nothing happened" (README, "Exit codes"): every command's usage errors are found
 * before any KMS request and any write. Each declared command (every subcommand of a group too) has
 * bad invocations here; each must exit 2 with a code and a hint, leave the emulator's request log
 * unchanged and leave the working directory exactly as it was (no escrow dir, journal, transcript or
 * bundle). A command added without a case fails the completeness check.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allCommands } from '../../src/cli/specs/index.js';
import { run, workspace, type Workspace } from './harness.js';

let ws: Workspace;
beforeAll(async () => {
  ws = await workspace();
});
afterAll(async () => {
  await ws.close();
});

/** Every path under `dir` with its size and mtime: a write anywhere changes it. */
function tree(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    const st = lstatSync(p);
    const line = `${p} ${st.size} ${st.mtimeMs}`;
    return st.isDirectory() ? [line, ...tree(p)] : [line];
  });
}

const T = () => ws.target;
const E = () => ['--escrow-dir', ws.path('escrow')];
const RECIPIENT = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';
const KEY = '1234abcd-12ab-34cd-56ef-1234567890ab';

/** Bad invocations by command name (the words after `kms-byok`, without the bad part). */
const CASES: Record<string, () => string[][]> = {
  onboard: () => [
    ['onboard', ...T(), ...E(), '--yes', '--recipient', 'age1notarecipient'],
    ['onboard', ...T(), ...E(), '--yes', '--recipient', RECIPIENT, '--expires-in', '3 weeks'],
    ['onboard', ...T(), ...E(), '--yes', '--recipient', RECIPIENT, '--key-spec', 'AES_512'],
    ['onboard', ...T(), ...E(), '--yes', '--recipient', RECIPIENT, '--region', 'eu-wset-1'],
    ['onboard', ...T(), ...E(), '--yes', '--recipient', RECIPIENT, '--alias', 'alias/aws/reserved'],
  ],
  'escrow inspect': () => [['escrow', 'inspect'], ['escrow', 'inspect', ws.path('none.age'), '--bogus']],
  'escrow verify': () => [['escrow', 'verify'], ['escrow', 'verify', ws.path('none.age'), '--identity', ws.path('missing-identity.txt')]],
  'escrow reseal': () => [['escrow', 'reseal', ws.path('none.age'), '--recipient', 'age1notarecipient']],
  'escrow export': () => [['escrow', 'export', ws.path('none.age')]],
  'escrow acknowledge': () => [['escrow', 'acknowledge', ws.path('none.age')]],
  'escrow handover-recipient': () => [['escrow', 'handover-recipient'], ['escrow', 'handover-recipient', ...E(), '--bogus-value', 'x']],
  'escrow hand-over': () => [
    ['escrow', 'hand-over', ws.path('none.age'), '--identity', ws.path('missing-identity.txt'), '--to', RECIPIENT, '--out', ws.path('share.json')],
    ['escrow', 'hand-over', ws.path('none.age'), '--to', 'age1notarecipient', '--out', ws.path('share.json')],
  ],
  emulator: () => [['emulator', '--port', 'eighty'], ['emulator', '--fault', 'NotAnOperation:explode']],
  wizard: () => [['wizard']],
  wrap: () => [['wrap', '--parameters', ws.path('params.json')]],
  import: () => [['import', ...T(), '--wrapped', ws.path('wrapped.json')]],
  status: () => [['status', ...T(), ...E(), '--format', 'xml'], ['status', KEY, ...T(), '--key-id', 'aaaaaaaa-12ab-34cd-56ef-1234567890ab']],
  verify: () => [
    ['verify', ...T(), ...E()],
    ['verify', KEY, ...T(), ...E(), '--identity', ws.path('missing-identity.txt')],
    ['verify', KEY, ...T(), ...E(), '--share', ws.path('missing.handover')],
    ['verify', KEY, ...T(), ...E(), '--share', ws.path('missing.handover'), '--identity', ws.path('alice.txt')],
  ],
  reimport: () => [
    ['reimport', KEY, ...T(), ...E(), '--expires-in', 'soon'],
    ['reimport', KEY, ...T(), ...E(), '--expires-in', '60d', '--wrapping-key-spec', 'RSA_1024'],
    ['reimport', ...T(), '--plan', ws.path('none.json'), '--shard', '4/4'],
  ],
  restore: () => [
    ['restore', KEY, ...T(), ...E(), '--valid-to', '2026-02-30T00:00:00Z'],
    ['restore', 'alias/payments', ...T(), ...E(), '--new-key', '--yes', '--no-expiry', '--identity', ws.path('alice.txt')],
  ],
  rotate: () => [['rotate', KEY, ...T(), ...E(), '--yes'], ['rotate', KEY, ...T(), ...E(), '--in-place', '--new-key', '--yes']],
  revoke: () => [['revoke', KEY, ...T(), ...E(), '--yes']],
  'transcript render': () => [['transcript', 'render', ws.path('none.md'), '--html'], ['transcript', 'render', ws.path('none.md'), '--html', '--ceremony', 'first']],
  'transcript verify': () => [['transcript', 'verify', '--transcript', ws.path('none.md'), '--against-kms', '--region', 'moon-1']],
  policy: () => [['policy', '--wrapping-algorithm', 'ROT13']],
  schedule: () => [['schedule', '--print', 'crontab-ish', KEY], ['schedule', '--print', 'kubernetes', '--plan', ws.path('none.json'), '--shards', 'four']],
  discover: () => [['discover', ...T(), ...E(), '--regions', 'us-east-1,mars-1'], ['discover', ...T(), ...E()]],
  retire: () => [
    ['retire', KEY, ...T(), ...E(), '--schedule-deletion', '--pending-window', '6d', '--yes', '--reason', 'test'],
    ['retire', KEY, ...T(), ...E(), '--schedule-deletion', '--pending-window', '31d', '--yes', '--reason', 'test'],
    ['retire', KEY, ...T(), ...E(), '--disable', '--yes'],
    ['retire', 'alias/old', ...T(), ...E(), '--schedule-deletion', '--pending-window', '7d', '--yes', '--reason', 'test'],
    ['retire', KEY, ...T(), ...E(), '--disable', '--identity', ws.path('alice.txt'), '--yes', '--reason', 'test'],
    ['retire', KEY, ...T(), ...E(), '--schedule-deletion', '--pending-window', '7d', '--without-escrow', '--identity', ws.path('alice.txt'), '--yes', '--reason', 'test'],
  ],
  audit: () => [['audit', ...T(), ...E(), '--since', '91d'], ['audit', ...T(), ...E(), '--since', 'yesterday']],
  alarms: () => [['alarms', '--print', 'pulumi', `arn:aws:kms:us-east-1:111122223333:key/${KEY}`], ['alarms', '--print', 'cloudformation', 'alias/by-name']],
  'fleet report': () => [['fleet', 'report'], ['fleet', 'report', '--plan', ws.path('none.json'), '--shards', '0']],
};

describe('exit 2 happens before any KMS request and any write', () => {
  it('every declared command has bad invocations here', () => {
    expect(allCommands().map((c) => c.name).filter((n) => !(n in CASES))).toEqual([]);
  });

  for (const [name, cases] of Object.entries(CASES)) {
    it(`${name}: its usage errors exit 2, ask KMS nothing and write nothing`, async () => {
      for (const argv of cases()) {
        const before = { requests: ws.emu.requests.length, files: tree(ws.dir) };
        const r = await run(argv, { cwd: ws.dir });
        expect(r.code, `${argv.join(' ')}\n${r.stderr}`).toBe(2);
        expect(r.stderr, argv.join(' ')).toMatch(/kms-byok: error: /);
        expect(r.stderr, argv.join(' ')).toMatch(/kms-byok: code: ERR_[A-Z_]+/);
        expect(r.stderr, argv.join(' ')).not.toMatch(/\n\s+at /);
        expect(ws.emu.requests.length, `${argv.join(' ')} asked KMS`).toBe(before.requests);
        expect(tree(ws.dir), `${argv.join(' ')} wrote a file`).toEqual(before.files);
      }
      // And an unknown flag, for every command.
      const words = name.split(' ');
      const unknown = await run([...words, '--bogus-flag'], { cwd: ws.dir });
      expect(unknown.code, unknown.stderr).toBe(2);
      expect(unknown.stderr).toMatch(/unknown flag|--bogus-flag/);
    });
  }
});
