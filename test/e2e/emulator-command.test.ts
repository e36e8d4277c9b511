/**
 * `kms-byok emulator` as a user runs it: the built CLI serves on loopback, a second process runs a
 * ceremony against it through AWS_ENDPOINT_URL_KMS (no credentials configured), state persists in
 * --state-file, and Ctrl-C (SIGINT) stops it with exit 0. Also: the SDK's Node-version warning never
 * reaches the user, while the process still runs with warnings enabled.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';

const BIN = fileURLToPath(new URL('../../dist/bin.cjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'kms-byok-emucmd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The environment of a user with no AWS configuration at all. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir, ...extra };
  return env;
}

describe('kms-byok emulator', () => {
  it('--role declares a role STS AssumeRole answers (its external id required); a malformed --role is exit 2', async () => {
    const role = 'arn:aws:iam::222222222222:role/KmsByok';
    const child = spawn(process.execPath, [BIN, 'emulator', '--port', '0', '--role', `${role}:ext-2222`], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const endpoint = await new Promise<string>((resolve, reject) => {
      child.stdout.once('data', (c: Buffer) => resolve(c.toString().trim()));
      child.once('exit', (code) => reject(new Error(`emulator exited ${code}: ${stderr}`)));
    });
    const sts = new STSClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' }, maxAttempts: 1 });
    try {
      const ok = await sts.send(new AssumeRoleCommand({ RoleArn: role, RoleSessionName: 'cli', ExternalId: 'ext-2222' }));
      expect(ok.AssumedRoleUser!.Arn).toBe('arn:aws:sts::222222222222:assumed-role/KmsByok/cli');
      await expect(sts.send(new AssumeRoleCommand({ RoleArn: role, RoleSessionName: 'cli' }))).rejects.toMatchObject({ name: 'AccessDenied' });
    } finally {
      sts.destroy();
      child.kill('SIGINT');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    expect(stderr).toContain(`role: ${role} (with an external id) can be assumed`);
    expect(stderr).not.toContain('ext-2222');
    const bad = spawnSync(process.execPath, [BIN, 'emulator', '--port', '0', '--role', 'arn:aws:iam::2222:role/x'], { env: cleanEnv(), encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('expected arn:aws:iam::ACCOUNT:role/NAME[:EXTERNAL_ID]');
  });

  it('serves on loopback for another process, keeps state, and stops on SIGINT', async () => {
    const state = join(dir, 'state.json');
    const child = spawn(process.execPath, [BIN, 'emulator', '--port', '0', '--state-file', state], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const endpoint = await new Promise<string>((resolve, reject) => {
      child.stdout.once('data', (c: Buffer) => resolve(c.toString().trim()));
      child.once('exit', (code) => reject(new Error(`emulator exited ${code}: ${stderr}`)));
    });
    expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const passFile = join(dir, 'pass.txt');
    spawnSync('sh', ['-c', `umask 077; printf 'rehearsal passphrase\\n' > ${passFile}`]);
    const onboard = spawnSync(process.execPath, [BIN, 'onboard', '--yes', '--json', '--expires-in', '30d', '--allow-weak-passphrase', '--passphrase-file', passFile, '--escrow-dir', join(dir, 'escrow'), '--alias', 'alias/served'], {
      env: cleanEnv({ AWS_ENDPOINT_URL_KMS: endpoint }),
      encoding: 'utf8',
    });
    expect(onboard.status, onboard.stderr).toBe(0);
    const out = JSON.parse(onboard.stdout) as { keyState: string; keyArn: string };
    expect(out.keyState).toBe('Enabled');
    expect(onboard.stderr).not.toMatch(/NodeVersionSupportWarning|Warning:/);
    expect(statSync(state).mode & 0o777).toBe(0o600);

    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    expect(stderr).toContain('emulator stopped');

    // A second emulator from the same state file still knows the key behind its alias.
    const again = spawn(process.execPath, [BIN, 'emulator', '--port', '0', '--state-file', state], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const endpoint2 = await new Promise<string>((resolve) => again.stdout.once('data', (c: Buffer) => resolve(c.toString().trim())));
    const describe = spawnSync('aws', ['kms', 'describe-key', '--key-id', 'alias/served', '--endpoint-url', endpoint2, '--region', 'us-east-1', '--output', 'json'], {
      env: cleanEnv({ AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 'test', AWS_EC2_METADATA_DISABLED: 'true' }),
      encoding: 'utf8',
    });
    again.kill('SIGINT');
    await new Promise((resolve) => again.once('exit', resolve));
    if (describe.error) return; // no aws CLI on this machine: the SDK path above already proved the state
    expect(describe.status, describe.stderr).toBe(0);
    expect(JSON.parse(describe.stdout).KeyMetadata.Arn).toBe(out.keyArn);
  });

  it('refuses a bad --port with a usage error', () => {
    const r = spawnSync(process.execPath, [BIN, 'emulator', '--port', 'eighty'], { env: cleanEnv(), encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('kms-byok: error: invalid --port "eighty"');
  });

  it('refuses an unknown --unwrap-engine with a usage error, before listening', () => {
    const r = spawnSync(process.execPath, [BIN, 'emulator', '--port', '0', '--unwrap-engine', 'fast'], { env: cleanEnv(), encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('kms-byok: error: --unwrap-engine "fast": expected node-forge or openssl');
    expect(r.stdout).toBe('');
  });

  it('on Node < 22 the SDK warning stays out of the output, other warnings do not', () => {
    // A warning raised inside the same process while the ceremony runs (after the SDK is loaded) must
    // still print: only the SDK's own version notice is switched off, through the SDK's own setting.
    const raise = 'data:text/javascript,setTimeout(() => process.emitWarning("still-visible"), 50)';
    const r = spawnSync(process.execPath, ['--import', raise, BIN, 'onboard', '--emulator', '--yes', '--no-expiry', '--allow-weak-passphrase', '--passphrase-file', '-', '--escrow-dir', join(dir, 'escrow2'), '--json'], {
      env: cleanEnv(),
      input: 'another passphrase\n',
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/NodeVersionSupportWarning/);
    expect(r.stderr).toContain('still-visible');
  });
});
