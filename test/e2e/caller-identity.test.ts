/**
 * The transcript names the AWS principal beside the OS user (docs/architecture.md "AWS caller
 * identity"): sts:GetCallerIdentity asked of the same endpoint and credentials as KMS; a failing STS
 * is recorded as "unknown" with its reason, never guessed. Old transcripts keep verifying.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { run, workspace, type Workspace } from './harness.js';
import { custodian } from './identities.js';
import { verifyTranscript } from '../../src/records/transcript.js';

let ws: Workspace;
let alice: { identity: string; recipient: string; path: string };

beforeAll(async () => {
  ws = await workspace();
  alice = await custodian(ws.path('alice.txt'));
});
afterAll(async () => ws?.close());

/** A loopback port nothing listens on (bound, then closed): STS there fails with a refused connection. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

function entries(path: string): string[] {
  return readFileSync(path, 'utf8').split('<!-- kms-byok-entry').slice(0, -1);
}

describe('AWS caller identity in the transcript', () => {
  it('onboard and reimport record the caller STS names (same endpoint and credentials as KMS), with the OS user', async () => {
    // No credentials configured and a loopback endpoint: KMS is signed with the dummy pair
    // (cli/target.ts), and so must STS be — the emulator names the caller by the signing key id.
    const env = {};
    const r = await run(['onboard', ...ws.target, '--yes', '--json', '--alias', 'alias/caller', '--expires-in', '30d', '--recipient', alice.recipient, '--escrow-dir', ws.path('escrow')], { env });
    expect(r.code, r.stderr).toBe(0);
    const account = r.json<{ keyArn: string }>().keyArn.split(':')[4];
    const stsCalls = ws.emu.requests.filter((q) => q.operation === 'GetCallerIdentity');
    expect(stsCalls.length).toBeGreaterThanOrEqual(1);
    const re = await run(['reimport', 'alias/caller', ...ws.target, '--escrow-dir', ws.path('escrow'), '--identity', alice.path, '--expires-in', '60d', '--json'], { env });
    expect(re.code, re.stderr).toBe(0);
    const text = readFileSync(ws.path('escrow/transcript.md'), 'utf8');
    expect(verifyTranscript(text).ok).toBe(true);
    const [onboard, reimport] = entries(ws.path('escrow/transcript.md'));
    for (const e of [onboard!, reimport!]) {
      expect(e).toMatch(/- \*\*operator\*\*: \S+@\S+/);
      expect(e).toContain(`- **AWS caller**: arn:aws:iam::${account}:user/AKIDKMSBYOKREHEARSAL (account ${account})`);
    }
  });

  it('a failing STS (AWS_ENDPOINT_URL_STS pointing nowhere) is recorded as unknown with the reason; the ceremony still succeeds', async () => {
    const port = await closedPort();
    const env = { AWS_ENDPOINT_URL_KMS: ws.emu.endpoint, AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_STS: `http://127.0.0.1:${port}` };
    const before = ws.emu.requests.filter((q) => q.operation === 'GetCallerIdentity').length;
    const r = await run(['onboard', '--yes', '--json', '--no-expiry', '--recipient', alice.recipient, '--escrow-dir', ws.path('escrow2')], { env });
    expect(r.code, r.stderr).toBe(0);
    // STS went to the endpoint AWS_ENDPOINT_URL_STS names, not to the KMS endpoint.
    expect(ws.emu.requests.filter((q) => q.operation === 'GetCallerIdentity').length).toBe(before);
    const [e] = entries(ws.path('escrow2/transcript.md'));
    expect(e).toMatch(/- \*\*AWS caller\*\*: unknown \(GetCallerIdentity failed \([^)]*\)/);
    expect(e).not.toMatch(/AWS caller\*\*: arn:/);
  });

  it('a transcript written before the caller was recorded still verifies, and new entries chain onto it', async () => {
    const { appendEntry } = await import('../../src/records/transcript.js');
    const old = appendEntry('', { ceremony: 'onboard', time: '2026-01-01T00:00:00Z', outcome: 'key 1 Enabled', fields: [['operator', 'root@vm']] }).text;
    const { writeFileSync } = await import('node:fs');
    writeFileSync(ws.path('old.md'), old, { mode: 0o600 });
    const v = await run(['transcript', 'verify', ws.path('old.md')]);
    expect(v.code, v.stderr).toBe(0);
    const r = await run(['onboard', ...ws.target, '--yes', '--no-expiry', '--recipient', alice.recipient, '--escrow-dir', ws.path('escrow3'), '--transcript', ws.path('old.md')]);
    expect(r.code, r.stderr).toBe(0);
    const after = await run(['transcript', 'verify', ws.path('old.md'), '--json']);
    expect(after.code, after.stderr).toBe(0);
    expect(after.json<{ entries: number }>().entries).toBe(2);
    expect(readFileSync(ws.path('old.md'), 'utf8')).toContain('**AWS caller**: arn:aws:iam::');
  });
});
