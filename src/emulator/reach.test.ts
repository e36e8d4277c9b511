/**
 * An emulator only its caller can reach: requests addressed to a foreign `Host` are refused (DNS
 * rebinding), and the state file — imported material and wrapping private keys in the clear — is 0600,
 * created exclusively and never followed through a symbolic link.
 */
import { request } from 'node:http';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateKeyCommand, KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestEmulator } from './emulator.test.helpers.js';
import type { RunningEmulator } from './index.js';
import { isLoopbackHostHeader } from './server.js';

const dir = mkdtempSync(join(tmpdir(), 'kms-byok-emulator-reach-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function client(endpoint: string): KMSClient {
  return new KMSClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' }, maxAttempts: 1 });
}

/** A raw KMS request to the emulator's port with the given Host header (`undefined`: none at all). */
function rawRequest(emu: RunningEmulator, host: string | undefined, operation: string, body: unknown): Promise<{ status: number; body: string; errorType: string | undefined }> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = request(
      {
        host: '127.0.0.1',
        port: emu.port,
        method: 'POST',
        path: '/',
        setHost: false,
        headers: {
          ...(host === undefined ? {} : { host }),
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': `TrentService.${operation}`,
          'content-length': String(Buffer.byteLength(payload)),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, errorType: res.headers['x-amzn-errortype'] as string | undefined }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

describe('Host header', () => {
  it('refuses a foreign Host (DNS rebinding) with a KMS-style 403 and creates nothing', async () => {
    const emu = await startTestEmulator();
    try {
      for (const host of ['evil.example', `evil.example:${emu.port}`, `127.0.0.1.evil.example:${emu.port}`, `localhost.evil.example`, '10.0.0.1', '[::2]']) {
        const r = await rawRequest(emu, host, 'CreateKey', { Origin: 'EXTERNAL', Description: 'from a web page' });
        expect(r.status, String(host)).toBe(403);
        expect(r.errorType).toBe('AccessDeniedException');
        expect(JSON.parse(r.body)).toMatchObject({ __type: 'AccessDeniedException', message: expect.stringContaining('loopback') });
      }
      // No Host at all: node:http itself answers 400 to an HTTP/1.1 request without one.
      expect((await rawRequest(emu, undefined, 'CreateKey', { Origin: 'EXTERNAL' })).status).toBe(400);
      // Nothing was created: the keys as the legitimate caller sees them.
      const kms = client(emu.endpoint);
      expect((await kms.send(new ListKeysCommand({}))).Keys).toEqual([]);
      kms.destroy();
      expect(emu.requests.filter((q) => q.operation === 'CreateKey').map((q) => q.status)).toEqual([403, 403, 403, 403, 403, 403]);
    } finally {
      await emu.close();
    }
  });

  it('answers loopback names and addresses, with or without a port', async () => {
    const emu = await startTestEmulator();
    try {
      for (const host of [`127.0.0.1:${emu.port}`, '127.0.0.1', `127.8.9.10:${emu.port}`, `localhost:${emu.port}`, 'LOCALHOST', `[::1]:${emu.port}`, '[::1]']) {
        const r = await rawRequest(emu, host, 'ListKeys', {});
        expect(r.status, host).toBe(200);
      }
    } finally {
      await emu.close();
    }
    expect(isLoopbackHostHeader('127.0.0.256')).toBe(false);
    expect(isLoopbackHostHeader('[::1]x')).toBe(false);
    expect(isLoopbackHostHeader('localhost:99999999')).toBe(false);
  });

  it('the SDK client works at http://127.0.0.1:PORT and at http://localhost:PORT', async () => {
    const emu = await startTestEmulator();
    try {
      for (const endpoint of [emu.endpoint, `http://localhost:${emu.port}`]) {
        const kms = client(endpoint);
        const key = await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }));
        expect(key.KeyMetadata?.KeyState).toBe('PendingImport');
        kms.destroy();
      }
      expect(emu.requests.map((q) => q.status)).toEqual([200, 200]);
    } finally {
      await emu.close();
    }
  });
});

describe('state file', () => {
  it('is created at start exclusively with mode 0600, and stays 0600 after each save', async () => {
    const stateFile = join(dir, 'fresh.json');
    const emu = await startTestEmulator({ stateFile });
    expect(statSync(stateFile).mode & 0o777).toBe(0o600);
    const kms = client(emu.endpoint);
    await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }));
    kms.destroy();
    await emu.close();
    expect(statSync(stateFile).mode & 0o777).toBe(0o600);
    expect(Object.keys(JSON.parse(readFileSync(stateFile, 'utf8')).regions['us-east-1'].keys)).toHaveLength(1);
  });

  it('a symbolic link planted at the state path is refused at start and its target is untouched', async () => {
    const target = join(dir, 'victim.txt');
    writeFileSync(target, 'precious\n', { mode: 0o644 });
    const link = join(dir, 'linked-state.json');
    symlinkSync(target, link);
    await expect(startTestEmulator({ stateFile: link })).rejects.toThrow(/symbolic link/);
    expect(readFileSync(target, 'utf8')).toBe('precious\n');
    expect(statSync(target).mode & 0o777).toBe(0o644);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);

    // A dangling link: nothing is created where it points.
    const nowhere = join(dir, 'would-be-created.json');
    const dangling = join(dir, 'dangling-state.json');
    symlinkSync(nowhere, dangling);
    await expect(startTestEmulator({ stateFile: dangling })).rejects.toThrow(/symbolic link/);
    expect(existsSync(nowhere)).toBe(false);
  });

  it('a link swapped in while the emulator runs is not followed: the change is refused and the target untouched', async () => {
    const stateFile = join(dir, 'swapped.json');
    const target = join(dir, 'victim2.txt');
    writeFileSync(target, 'precious\n');
    const emu = await startTestEmulator({ stateFile });
    unlinkSync(stateFile);
    symlinkSync(target, stateFile);
    const kms = client(emu.endpoint);
    await expect(kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).rejects.toMatchObject({ name: 'KMSInternalException' });
    kms.destroy();
    await emu.close().catch(() => {});
    expect(readFileSync(target, 'utf8')).toBe('precious\n');
    expect(lstatSync(stateFile).isSymbolicLink()).toBe(true);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
