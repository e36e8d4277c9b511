/**
 * The wizard in a real terminal: the BUILT CLI (`npm run build`, then `node dist/bin.cjs` with no
 * arguments) runs inside tmux; the test answers with `send-keys` and reads the screen with
 * `capture-pane`, through a full onboard ceremony against an emulator the test started (as
 * `kms-byok emulator` would be). Skipped only when tmux is absent and CI is not set (CI installs it).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteImportedKeyMaterialCommand, DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEmulator } from '../../src/emulator/emulator.test.helpers.js';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { BIN, ensureBuilt } from '../support/built-cli.js';
import { custodian } from '../e2e/identities.js';

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const SOCKET = `kms-byok-test-${process.pid}`;

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', SOCKET, '-f', '/dev/null', ...args], { encoding: 'utf8' });
}

function screen(session: string): string {
  return tmux('capture-pane', '-p', '-J', '-S', '-300', '-t', session);
}

async function waitFor(session: string, pattern: RegExp, timeoutMs = 15_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const text = screen(session);
    if (pattern.test(text)) return text;
    if (Date.now() > until) throw new Error(`timed out waiting for ${pattern} on the screen:\n${text}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Types `text` (literally) and/or presses keys. */
function keys(session: string, ...k: string[]): void {
  tmux('send-keys', '-t', session, ...k);
}
function type(session: string, text: string): void {
  tmux('send-keys', '-t', session, '-l', text);
}

let emu: RunningEmulator;
let dir: string;

function start(session: string, argv: string[] = []): void {
  const env = ['env', '-i', `PATH=${process.env.PATH}`, `HOME=${dir}`, 'TERM=xterm-256color', `AWS_ENDPOINT_URL_KMS=${emu.endpoint}`, 'AWS_REGION=us-east-1'];
  const command = `cd ${dir} && ${env.join(' ')} ${process.execPath} ${BIN} ${argv.join(' ')}; echo EXIT=$?; sleep 60`;
  tmux('new-session', '-d', '-s', session, '-x', '160', '-y', '60', command);
}

describe.skipIf(!hasTmux && !process.env.CI)('wizard in a real terminal (tmux, built CLI)', () => {
  beforeAll(async () => {
    await ensureBuilt();
    emu = await startTestEmulator({ port: 0, region: 'us-east-1' });
    dir = mkdtempSync(join(tmpdir(), 'kms-byok-tmux-'));
  }, 60_000);
  afterAll(async () => {
    try {
      tmux('kill-server');
    } catch {
      /* already gone */
    }
    await emu?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('kms-byok with no arguments: a full onboard ceremony, answered key by key; the key is Enabled', async () => {
    const alice = await custodian(join(dir, 'alice.txt'));
    const s = 'onboard';
    start(s);
    await waitFor(s, /What do you want to do\?/);
    keys(s, 'Enter');
    await waitFor(s, /Target: the KMS at http:\/\/127\.0\.0\.1:\d+ \(Region us-east-1\)[\s\S]*Key spec/);
    keys(s, 'Enter'); // SYMMETRIC_DEFAULT
    await waitFor(s, /Wrapping algorithm and wrapping key/);
    keys(s, 'Enter'); // recommended
    await waitFor(s, /Alias \(alias\/NAME, empty for none\)/);
    type(s, 'payments');
    keys(s, 'Enter');
    await waitFor(s, /invalid alias "payments"/);
    keys(s, 'C-u');
    type(s, 'alias/tmux-payments');
    keys(s, 'Enter');
    await waitFor(s, /Key description/);
    keys(s, 'Enter');
    await waitFor(s, /When does the imported material expire\?/);
    keys(s, 'Enter');
    await waitFor(s, /Expires in \(m, h, d or w\)/);
    keys(s, 'Enter'); // 365d
    await waitFor(s, /Key material/);
    keys(s, 'Enter'); // generate
    await waitFor(s, /Who can open the escrow\?/);
    keys(s, 'Enter'); // recipients
    await waitFor(s, /Custodian 1: NAME=age1… \(or just age1…\)/);
    type(s, alice.recipient);
    keys(s, 'Enter');
    await waitFor(s, /Add another custodian\?/);
    keys(s, 'Enter'); // no
    await waitFor(s, /Escrow directory/);
    keys(s, 'Enter'); // ./escrow
    const consequences = await waitFor(s, /Create the key and run the ceremony now\?/);
    expect(consequences).toContain('A new KMS key (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT, origin EXTERNAL) with alias alias/tmux-payments is created in the KMS at');
    expect(consequences).toContain('If the escrow is lost, nobody can ever re-import this material');
    type(s, 'y');
    keys(s, 'Enter');
    const end = await waitFor(s, /EXIT=\d+/, 30_000);
    expect(end).toContain('EXIT=0');
    for (const step of ['created key', 'created alias alias/tmux-payments', 'got import parameters', 'material sealed in escrow', 'imported key material', 'verified: key Enabled']) {
      expect(end).toContain(`✓ ${step}`);
    }
    expect(end).toContain('Onboard complete.');
    expect(end).toMatch(/│ {2}[0-9A-F] [0-9A-F] [0-9A-F] {3}[0-9A-F] [0-9A-F] [0-9A-F] {2}│ {2}cmac-aes/);
    expect(end).toContain('kms-byok onboard --yes --key-spec SYMMETRIC_DEFAULT --alias alias/tmux-payments');
    expect(end).toContain('(with the same environment: AWS_ENDPOINT_URL_KMS, AWS_REGION)');
    const arn = /key ARN\s+(arn:aws:kms:\S+)/.exec(end)?.[1];
    const kms = new KMSClient({ region: 'us-east-1', endpoint: emu.endpoint, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' }, maxAttempts: 1 });
    try {
      const d = await kms.send(new DescribeKeyCommand({ KeyId: 'alias/tmux-payments' }));
      expect(d.KeyMetadata?.KeyState).toBe('Enabled');
      expect(d.KeyMetadata?.Arn).toBe(arn);
    } finally {
      kms.destroy();
    }
  }, 60_000);

  /**
   * An onboard whose custodians are named (NAME=age1…) and split (threshold or XOR), answered key by
   * key; the alias in use is typed first and must be refused at the prompt, before the confirmation.
   */
  async function splitOnboard(s: string, custody: 'threshold' | 'xor', alias: string): Promise<{ screen: string; consequences: string }> {
    const people = await Promise.all(['alice', 'bob', 'carol'].map((n) => custodian(join(dir, `${s}-${n}.txt`))));
    start(s);
    await waitFor(s, /What do you want to do\?/);
    keys(s, 'Enter');
    await waitFor(s, /Key spec/);
    keys(s, 'Enter');
    await waitFor(s, /Wrapping algorithm and wrapping key/);
    keys(s, 'Enter');
    await waitFor(s, /Alias \(alias\/NAME, empty for none\)/);
    type(s, 'alias/tmux-payments'); // made by the first test: in use
    keys(s, 'Enter');
    await waitFor(s, /alias\/tmux-payments is already in use \(key [0-9a-f-]+\): choose another alias/);
    keys(s, 'C-u');
    type(s, alias);
    keys(s, 'Enter');
    await waitFor(s, /Key description/);
    keys(s, 'Enter');
    await waitFor(s, /When does the imported material expire\?/);
    keys(s, 'Enter');
    await waitFor(s, /Expires in \(m, h, d or w\)/);
    keys(s, 'Enter');
    await waitFor(s, /Key material/);
    keys(s, 'Enter');
    await waitFor(s, /Who can open the escrow\?/);
    keys(s, 'Enter');
    for (const [i, name] of ['alice', 'bob', 'carol'].entries()) {
      await waitFor(s, new RegExp(`Custodian ${i + 1}: NAME=age1`));
      type(s, `${name}=${people[i]!.recipient}`);
      keys(s, 'Enter');
      await waitFor(s, new RegExp(`Custodian ${i + 1}: NAME=age1[\\s\\S]*Add another custodian\\?`));
      if (i < 2) type(s, 'y');
      keys(s, 'Enter');
    }
    await waitFor(s, /How many custodians are needed to open it\?/);
    keys(s, 'Down');
    if (custody === 'xor') keys(s, 'Down');
    keys(s, 'Enter');
    if (custody === 'threshold') {
      await waitFor(s, /Threshold M \(2 to 3\)/);
      keys(s, 'Enter'); // 2
    }
    await waitFor(s, /Renewal recipient for unattended renewal/);
    keys(s, 'Enter'); // none
    await waitFor(s, /Escrow directory/);
    type(s, `escrow-${s}`);
    keys(s, 'Enter');
    const consequences = await waitFor(s, /Create the key and run the ceremony now\?/);
    type(s, 'y');
    keys(s, 'Enter');
    const end = await waitFor(s, /EXIT=\d+/, 30_000);
    return { screen: end, consequences };
  }

  for (const custody of ['threshold', 'xor'] as const) {
    it(`${custody} onboard with named custodians; the alias in use is refused at the prompt; Region and account named before the confirmation; next steps at the end`, async () => {
      const alias = `alias/tmux-${custody}`;
      const { screen: end, consequences } = await splitOnboard(`split-${custody}`, custody, alias);
      expect(consequences).toMatch(/Region us-east-1, AWS account \d{12}, as arn:aws:iam::\d{12}:user\//);
      expect(consequences).toContain(custody === 'threshold' ? 'any 2 of 3 custodians together (alice, bob, carol)' : 'all 3 custodians together (alice, bob, carol)');
      expect(end).toContain('EXIT=0');
      expect(end).toContain(custody === 'threshold' ? '--threshold 2' : '--split xor');
      expect(end).toContain('--recipient alice=age1');
      expect(end).toContain('Next steps:');
      for (const name of ['alice', 'bob', 'carol']) expect(end).toMatch(new RegExp(`kms-byok escrow acknowledge \\S+ --identity ${name}\\.key --name ${name}`));
      expect(end).toContain('kms-byok escrow verify');
      // A split escrow is checked with handed-over shares: no custodian's identity comes to this machine.
      expect(end).toMatch(/kms-byok escrow verify \S+ --share FILE --share FILE/);
      expect(end).toContain('kms-byok escrow handover-recipient --escrow-dir');
      expect(end).toContain('kms-byok schedule --print systemd --key');
      expect(end).toContain('kms-byok transcript render');
      const kms = new KMSClient({ region: 'us-east-1', endpoint: emu.endpoint, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' }, maxAttempts: 1 });
      try {
        expect((await kms.send(new DescribeKeyCommand({ KeyId: alias }))).KeyMetadata?.KeyState).toBe('Enabled');
      } finally {
        kms.destroy();
      }
      const files = readdirSync(join(dir, `escrow-split-${custody}`));
      expect(files.filter((f) => (custody === 'threshold' ? /\.share-\d\.age$/ : /\.component-\d\.age$/).test(f))).toHaveLength(3);
    }, 90_000);
  }

  it('threshold restore: the wizard reads the escrow\'s custody and asks for 2 identity files before the confirmation; the key is Enabled again', async () => {
    // The 2-of-3 key of the threshold test above, its material deleted.
    const kms = new KMSClient({ region: 'us-east-1', endpoint: emu.endpoint, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' }, maxAttempts: 1 });
    try {
      const keyId = (await kms.send(new DescribeKeyCommand({ KeyId: 'alias/tmux-threshold' }))).KeyMetadata!.KeyId!;
      await kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: keyId })); // takes no alias, as in AWS
      expect((await kms.send(new DescribeKeyCommand({ KeyId: 'alias/tmux-threshold' }))).KeyMetadata?.KeyState).toBe('PendingImport');
      const s = 'restore-threshold';
      start(s);
      await waitFor(s, /What do you want to do\?/);
      for (let i = 0; i < 6; i++) keys(s, 'Down');
      await waitFor(s, /❯ restore/);
      keys(s, 'Enter');
      await waitFor(s, /Key to restore/);
      type(s, 'alias/tmux-threshold');
      keys(s, 'Enter');
      await waitFor(s, /When does the imported material expire\?/);
      keys(s, 'Enter');
      await waitFor(s, /Expires in \(m, h, d or w\)/);
      keys(s, 'Enter');
      await waitFor(s, /Escrow directory/);
      type(s, 'escrow-split-threshold');
      keys(s, 'Enter');
      await waitFor(s, /held by alice, bob, carol: any 2 of the 3 are needed to open it[\s\S]*How will the custodians open the escrow\?/);
      await waitFor(s, /❯ handed-over shares/); // offered first for a split escrow
      keys(s, 'Down');
      await waitFor(s, /❯ 2 custodians' age identity files/);
      keys(s, 'Enter'); // identity files
      await waitFor(s, /Identity file 1 of 2 \(each a different custodian\)/);
      type(s, 'split-threshold-alice.txt');
      keys(s, 'Enter');
      await waitFor(s, /Identity file 2 of 2/);
      type(s, 'split-threshold-alice.txt'); // the same custodian twice: refused at the prompt
      keys(s, 'Enter');
      await waitFor(s, /split-threshold-alice\.txt was given already/);
      keys(s, 'C-u');
      type(s, 'split-threshold-carol.txt');
      keys(s, 'Enter');
      await waitFor(s, /Restore now\?/);
      type(s, 'y');
      keys(s, 'Enter');
      const end = await waitFor(s, /EXIT=\d+/, 30_000);
      expect(end).toContain('EXIT=0');
      expect(end.replace(/ \\\n\s*/g, ' ')).toContain('--identity split-threshold-alice.txt --identity split-threshold-carol.txt');
      expect((await kms.send(new DescribeKeyCommand({ KeyId: 'alias/tmux-threshold' }))).KeyMetadata?.KeyState).toBe('Enabled');
    } finally {
      kms.destroy();
    }
  }, 90_000);

  /** How often `text` is on the screen (answered questions stay in the scrollback). */
  async function waitForCount(session: string, text: string, n: number): Promise<string> {
    const until = Date.now() + 15_000;
    for (;;) {
      const now = screen(session);
      if (now.split(text).length - 1 >= n) return now;
      if (Date.now() > until) throw new Error(`timed out waiting for ${n}× "${text}" on the screen:\n${now}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * The built CLI as a separate process: one machine, with its own HOME and working directory.
   * Asynchronous: the emulator answers from this process's event loop.
   */
  function machine(home: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((done, fail) => {
      const child = spawn(process.execPath, [BIN, ...args], {
        cwd: home,
        env: { PATH: process.env.PATH ?? '', HOME: home, AWS_ENDPOINT_URL_KMS: emu.endpoint, AWS_REGION: 'us-east-1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', fail);
      child.on('close', (code) => done({ code, stdout, stderr }));
    });
  }

  it('threshold restore BY HAND-OVER: custodians hand over from their own homes, the wizard restores from the --share files; going back one question with <; the key is Enabled, status and verify pass', async () => {
    // Three custodians, each in their own home with their own identity; the host is `dir`.
    const people = ['alice', 'bob', 'carol'] as const;
    const homes = Object.fromEntries(people.map((n) => [n, join(dir, `home-${n}`)])) as Record<(typeof people)[number], string>;
    const ids = {} as Record<(typeof people)[number], { recipient: string }>;
    for (const n of people) {
      mkdirSync(homes[n], { mode: 0o700 });
      ids[n] = await custodian(join(homes[n], 'id.txt'));
    }
    const alias = 'alias/tmux-handover';
    const onboard = await machine(dir, ['onboard', '--yes', '--alias', alias, ...people.flatMap((n) => ['--recipient', `${n}=${ids[n].recipient}`]), '--threshold', '2', '--expires-in', '30d', '--escrow-dir', 'escrow-ho', '--json']);
    expect(onboard.code, onboard.stderr).toBe(0);
    const keyId = (JSON.parse(onboard.stdout) as { keyId: string }).keyId;
    const stem = `${keyId}.v1`;
    const kms = new KMSClient({ region: 'us-east-1', endpoint: emu.endpoint, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' }, maxAttempts: 1 });
    /** The host prints a one-time recipient; each custodian hands over on their own machine; the files reach the host. */
    const handOver = async (who: (typeof people)[number][], round: string): Promise<string[]> => {
      const r = await machine(dir, ['escrow', 'handover-recipient', '--escrow-dir', 'escrow-ho']);
      expect(r.code, r.stderr).toBe(0);
      const to = r.stdout.trim();
      const files: string[] = [];
      for (const n of who) {
        const i = people.indexOf(n) + 1;
        mkdirSync(join(homes[n], 'escrow'), { recursive: true, mode: 0o700 });
        // Each custodian holds the (public) sidecar and their own sealed share, nothing else.
        for (const f of [`${stem}.age.json`, `${stem}.share-${i}.age`]) if (!existsSync(join(homes[n], 'escrow', f))) copyFileSync(join(dir, 'escrow-ho', f), join(homes[n], 'escrow', f));
        const out = `${round}.handover`;
        const h = await machine(homes[n], ['escrow', 'hand-over', `escrow/${stem}.age`, '--identity', 'id.txt', '--to', to, '--out', out]);
        expect(h.code, h.stderr).toBe(0);
        expect(h.stdout).toMatch(new RegExp(`custodian\\s+${n}`));
        copyFileSync(join(homes[n], out), join(dir, `${n}-${round}.handover`));
        files.push(`${n}-${round}.handover`);
      }
      return files;
    };
    try {
      await kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: keyId }));
      expect((await kms.send(new DescribeKeyCommand({ KeyId: alias }))).KeyMetadata?.KeyState).toBe('PendingImport');
      const [fromAlice, fromCarol] = (await handOver(['alice', 'carol'], 'restore')) as [string, string];
      const s = 'restore-handover';
      start(s);
      await waitFor(s, /< goes back to the previous one[\s\S]*What do you want to do\?/);
      for (let i = 0; i < 6; i++) keys(s, 'Down');
      await waitFor(s, /❯ restore/);
      keys(s, 'Enter');
      await waitFor(s, /Key to restore/);
      type(s, alias);
      keys(s, 'Enter');
      await waitFor(s, /When does the imported material expire\?/);
      keys(s, '<'); // back one question, at a list: the key is asked again, its answer the default
      await waitForCount(s, 'Key to restore', 2);
      keys(s, 'Enter');
      await waitForCount(s, 'When does the imported material expire?', 2);
      keys(s, 'Enter');
      await waitFor(s, /Expires in \(m, h, d or w\)/);
      keys(s, 'Enter');
      await waitFor(s, /Escrow directory/);
      type(s, 'escrow-ho');
      keys(s, 'Enter');
      await waitFor(s, /held by alice, bob, carol: any 2 of the 3 are needed to open it[\s\S]*How will the custodians open the escrow\?/);
      await waitFor(s, /❯ handed-over shares/);
      keys(s, 'Enter');
      await waitFor(s, /kms-byok escrow hand-over \S+ --identity THEIRS[\s\S]*Hand-over file 1 of 2/);
      type(s, fromAlice);
      keys(s, 'Enter');
      await waitFor(s, /share 1 from alice: check value sha256-kcv:[0-9A-F]{6}[\s\S]*Hand-over file 2 of 2/);
      type(s, fromAlice); // the same custodian twice: refused at the prompt
      keys(s, 'Enter');
      await waitFor(s, /share 1 \(alice\) was given already/);
      keys(s, 'C-u');
      type(s, '<'); // back one question, in a text answer: the first file is asked again
      keys(s, 'Enter');
      await waitForCount(s, 'Hand-over file 1 of 2', 2);
      keys(s, 'Enter'); // keeps alice's file (the earlier answer is the default)
      await waitForCount(s, 'Hand-over file 2 of 2', 2);
      type(s, fromCarol);
      keys(s, 'Enter');
      await waitFor(s, /share 3 from carol[\s\S]*Restore now\?/);
      keys(s, '<'); // back from the confirmation
      await waitForCount(s, 'Hand-over file 2 of 2', 3);
      keys(s, 'Enter');
      await waitForCount(s, 'Restore now?', 2);
      type(s, 'y');
      keys(s, 'Enter');
      const end = await waitFor(s, /EXIT=\d+/, 30_000);
      expect(end).toContain('EXIT=0');
      expect(end.replace(/ \\\n\s*/g, ' ')).toContain(`--share ${fromAlice} --share ${fromCarol}`);
      expect((await kms.send(new DescribeKeyCommand({ KeyId: alias }))).KeyMetadata?.KeyState).toBe('Enabled');
      const status = await machine(dir, ['status', alias, '--escrow-dir', 'escrow-ho']);
      expect(status.code, status.stdout + status.stderr).toBe(0);
      // The one-time identity was consumed by the restore: verify takes a fresh hand-over (bob and alice this time).
      const again = await handOver(['bob', 'alice'], 'verify');
      const verify = await machine(dir, ['verify', alias, '--escrow-dir', 'escrow-ho', ...again.flatMap((f) => ['--share', f])]);
      expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    } finally {
      kms.destroy();
    }
  }, 120_000);

  it('Ctrl-C at a question: exit 130, nothing created', async () => {
    const before = emu.requests.length;
    const s = 'cancel';
    start(s, ['wizard']);
    await waitFor(s, /What do you want to do\?/);
    keys(s, 'Enter');
    await waitFor(s, /Key spec/);
    keys(s, 'C-c');
    const end = await waitFor(s, /EXIT=\d+/);
    expect(end).toContain('EXIT=130');
    expect(end).toContain('kms-byok: hint: nothing was created');
    expect(emu.requests.length).toBe(before);
  }, 30_000);

  it('Escape at a question: exit 130, nothing created', async () => {
    const s = 'escape';
    start(s, ['wizard']);
    await waitFor(s, /What do you want to do\?/);
    keys(s, 'Escape');
    const end = await waitFor(s, /EXIT=\d+/);
    expect(end).toContain('EXIT=130');
  }, 30_000);
});
