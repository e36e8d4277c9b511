import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEmulator } from './emulator.test.helpers.js';
import type { RunningEmulator } from './index.js';

const run = promisify(execFile);

function awsOnPath(): boolean {
  try {
    execFileSync('aws', ['--version'], { stdio: 'ignore', timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

const hasAws = awsOnPath();
let emu: RunningEmulator;
let home: string;

beforeAll(async () => {
  emu = await startTestEmulator();
  home = mkdtempSync(join(tmpdir(), 'kms-byok-aws-cli-'));
});
afterAll(async () => {
  await emu.close();
  rmSync(home, { recursive: true, force: true });
});

/** Runs `aws kms …` against the emulator with dummy credentials and no profile; returns parsed JSON. */
async function awsKms(...args: string[]): Promise<Record<string, unknown>> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'x',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: join(home, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-credentials'),
    AWS_PAGER: '',
  };
  for (const name of ['AWS_PROFILE', 'AWS_DEFAULT_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_KMS', 'AWS_CA_BUNDLE']) delete env[name];
  const { stdout } = await run('aws', ['kms', ...args, '--endpoint-url', emu.endpoint, '--region', 'us-east-1', '--output', 'json'], { env, timeout: 60_000 });
  return JSON.parse(stdout) as Record<string, unknown>;
}

describe('the aws CLI against the emulator', () => {
  it.skipIf(!hasAws)('aws kms create-key --origin EXTERNAL, then describe-key, parse as KMS output', async () => {
    const created = (await awsKms('create-key', '--origin', 'EXTERNAL', '--description', 'from the aws cli')).KeyMetadata as Record<string, unknown>;
    expect(created).toMatchObject({ Origin: 'EXTERNAL', KeyState: 'PendingImport', Description: 'from the aws cli', KeySpec: 'SYMMETRIC_DEFAULT' });
    expect(created.Arn).toBe(`arn:aws:kms:us-east-1:111122223333:key/${String(created.KeyId)}`);
    const described = (await awsKms('describe-key', '--key-id', String(created.KeyId))).KeyMetadata as Record<string, unknown>;
    expect(described.KeyId).toBe(created.KeyId);
    expect(emu.requests.filter((r) => r.operation === 'CreateKey')).toEqual([{ operation: 'CreateKey', region: 'us-east-1', status: 200, accountId: '111122223333', caller: 'AKIDEXAMPLE' }]);
  });
});
