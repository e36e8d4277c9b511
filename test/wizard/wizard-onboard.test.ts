/**
 * The wizard end to end in-process: a scripted prompter answers, the onboard command runs against a
 * started emulator, and the screen shows progress, the key, the check value for witnesses and the
 * equivalent command line. Also: the wizard refuses to start without a terminal.
 */
import { DescribeKeyCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, workspace, type Workspace } from '../e2e/harness.js';
import { custodian } from '../e2e/identities.js';
import { recordingIo, runScripted } from './helpers.js';
import { main } from '../../src/cli/main.js';
import { CANCEL } from './scripted.js';

let ws: Workspace;
let alice: { recipient: string };

beforeAll(async () => {
  ws = await workspace();
  alice = await custodian(ws.path('alice.txt'));
});
afterAll(async () => ws?.close());

const script = (alias: string, recipient: string): [string, string | boolean][] => [
  ['flow', 'onboard'],
  ['keySpec', ''],
  ['wrapping', ''],
  ['alias', alias],
  ['description', ''],
  ['expiry', ''],
  ['expiresIn', '90d'],
  ['material', ''],
  ['sealing', ''],
  ['recipient', recipient],
  ['moreRecipients', false],
  ['escrowDir', 'escrow'],
  ['confirm', true],
];

describe('wizard: onboard against the emulator', () => {
  let r: Awaited<ReturnType<typeof runScripted>>;
  beforeAll(async () => {
    r = await runScripted(ws.target, script('alias/wizard-1', alice.recipient), { cwd: ws.dir });
  });

  it('completes, asking only the scripted questions', () => {
    expect(r.code, r.stderr).toBe(0);
    r.prompter.assertDone();
  });

  it('shows each step with a check mark on stderr', () => {
    for (const step of ['created key', 'created alias alias/wizard-1', 'got import parameters', 'material sealed in escrow', 'imported key material', 'verified: key Enabled']) {
      expect(r.stderr).toMatch(new RegExp(`✓ ${step}`));
    }
  });

  it('ends with the key ARN, alias, expiry, a boxed read-aloud check value and the equivalent command line', async () => {
    const arn = /key ARN\s+(arn:aws:kms:\S+)/.exec(r.stdout)?.[1];
    expect(arn).toBeDefined();
    expect(r.stdout).toMatch(/alias\s+alias\/wizard-1/);
    expect(r.stdout).toMatch(/expiry\s+\d{4}-\d{2}-\d{2}T\S+ \(KEY_MATERIAL_EXPIRES\)/);
    expect(r.stdout).toMatch(/│ {2}[0-9A-F] [0-9A-F] [0-9A-F] {3}[0-9A-F] [0-9A-F] [0-9A-F] {2}│ {2}cmac-aes/);
    expect(r.stdout).toContain('kms-byok onboard --yes --region us-east-1 --endpoint-url');
    expect(r.stdout).toContain(`--recipient ${alice.recipient}`);
    const d = await ws.kms.send(new DescribeKeyCommand({ KeyId: 'alias/wizard-1' }));
    expect(d.KeyMetadata?.KeyState).toBe('Enabled');
    expect(d.KeyMetadata?.Arn).toBe(arn);
  });

  it('the printed command line, run as is, performs the same ceremony', async () => {
    const line = r.stdout.slice(r.stdout.indexOf('kms-byok onboard')).split('\n\n')[0]!.replace(/\\\n\s*/g, '').trim().split(/\s+/);
    const argv = line.slice(1).map((w) => (w === 'alias/wizard-1' ? 'alias/wizard-2' : w));
    const again = await run([...argv, '--json'], { cwd: ws.dir });
    expect(again.code, again.stderr).toBe(0);
    expect(again.json()).toMatchObject({ keyState: 'Enabled', keySpec: 'SYMMETRIC_DEFAULT', wrappingKeySpec: 'RSA_4096', alias: 'alias/wizard-2' });
  });
});

describe('wizard: refusals and cancellation', () => {
  it('Ctrl-C/Escape at a question: exit 130, nothing created', async () => {
    const before = ws.emu.requests.length;
    const r = await runScripted(ws.target, [['flow', 'onboard'], ['keySpec', CANCEL]], { cwd: ws.dir });
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('kms-byok: hint: nothing was created');
    expect(ws.emu.requests.length).toBe(before);
  });

  it('declining the consequences: exit 130, nothing created', async () => {
    const before = ws.emu.requests.length;
    const r = await runScripted(ws.target, script('alias/declined', alice.recipient).map(([id, a]) => [id, id === 'confirm' ? false : a]), { cwd: ws.dir });
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('error: not confirmed');
    // Only the questions' reads: the alias checked free (DescribeKey) and the account (GetCallerIdentity).
    expect(ws.emu.requests.slice(before).map((q) => q.operation)).toEqual(['DescribeKey', 'GetCallerIdentity']);
  });

  for (const [name, io] of [
    ['no terminal', { cwd: '.', interactive: false }],
    ['CI set', { cwd: '.', env: { CI: 'true' } }],
  ] as const) {
    it(`without a terminal (${name}): exit 2 naming the flags to use instead`, async () => {
      const rio = recordingIo(io);
      expect(await main(['wizard'], rio)).toBe(2);
      expect(rio.err()).toContain('error: the wizard needs a terminal');
      expect(rio.err()).toContain('hint: use the commands with flags instead: kms-byok onboard --yes --expires-in 365d --recipient');
    });
  }

  it('--json: exit 2', async () => {
    const rio = recordingIo({ cwd: '.' });
    expect(await main(['wizard', '--json'], rio)).toBe(2);
    expect(rio.err()).toContain('--json was given');
  });

  it('no arguments and no terminal prints the usage (exit 2), as before', async () => {
    const rio = recordingIo({ cwd: '.', interactive: false });
    expect(await main([], rio)).toBe(2);
    expect(rio.out()).toContain('Usage:');
  });
});

describe('kms-byok with no arguments', () => {
  it('on a terminal with CI set: the usage, exit 2 (the wizard never starts in CI)', async () => {
    const rio = recordingIo({ cwd: '.', env: { CI: '1' } });
    expect(await main([], rio)).toBe(2);
    expect(rio.out()).toContain('Usage:');
  });
});
