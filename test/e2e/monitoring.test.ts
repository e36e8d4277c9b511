/**
 * The monitoring hooks: `status --format prometheus` (textfile-collector format) and
 * `--notify-command` (JSON result on stdin; a failing or hanging hook never changes the outcome).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, workspace, type Workspace } from './harness.js';
import { custodian } from './identities.js';
import { notify } from '../../src/records/notify.js';
import type { Io } from '../../src/cli/io.js';
import { neverCancelled } from '../../src/cli/cancel.js';
import { Readable } from 'node:stream';

let ws: Workspace;
let alice: { recipient: string; path: string };
let keyId: string;
beforeAll(async () => {
  ws = await workspace();
  alice = await custodian(ws.path('alice.txt'));
  const r = await run(['onboard', ...ws.target, '--yes', '--json', '--expires-in', '10d', '--recipient', alice.recipient, '--escrow-dir', ws.path('escrow'),
    '--notify-command', `cat > ${ws.path('notified.json')}`]);
  expect(r.code, r.stderr).toBe(0);
  keyId = r.json<{ keyId: string }>().keyId;
});
afterAll(async () => ws?.close());

describe('status --format prometheus', () => {
  it('prints gauges per key and material, and exits 0 even when a key needs attention', async () => {
    const r = await run(['status', keyId, ...ws.target, '--escrow-dir', ws.path('escrow'), '--format', 'prometheus', '--warn-days', '30']);
    expect(r.code, r.stderr).toBe(0);
    const metrics = new Map<string, number>();
    for (const line of r.stdout.split('\n')) {
      if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
      const m = /^([a-z_]+)\{([^}]*)\} (-?\d+)$/.exec(line);
      expect(m, `not a sample line: ${line}`).not.toBeNull();
      expect(m![2]).toContain(`key_id="${keyId}"`);
      metrics.set(m![1]!, Number(m![3]));
    }
    const expiry = metrics.get('kms_byok_material_expiry_seconds')!;
    expect(expiry).toBeGreaterThan(9 * 86_400);
    expect(expiry).toBeLessThanOrEqual(10 * 86_400);
    expect(metrics.get('kms_byok_material_imported')).toBe(1);
    expect(metrics.get('kms_byok_key_enabled')).toBe(1);
    expect(metrics.get('kms_byok_escrow_present')).toBe(1);
    expect(metrics.get('kms_byok_escrow_matches')).toBe(1);
    expect(metrics.get('kms_byok_attention')).toBe(1); // expires within --warn-days 30
    expect(r.stdout).toContain('# TYPE kms_byok_material_expiry_seconds gauge');
  });

  it('refuses an unknown format', async () => {
    const r = await run(['status', keyId, ...ws.target, '--format', 'xml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('invalid --format "xml"');
  });
});

describe('--notify-command', () => {
  it('gets the ceremony result as JSON on stdin, without key material', () => {
    const doc = JSON.parse(readFileSync(ws.path('notified.json'), 'utf8')) as { ceremony: string; ok: boolean; result: { keyId: string; checkValue: string } };
    expect(doc).toMatchObject({ ceremony: 'onboard', ok: true, result: { keyId } });
    expect(doc.result.checkValue).toMatch(/^cmac-aes:/);
  });

  it('a failing hook is a warning; the ceremony result and exit code stand', async () => {
    const r = await run(['reimport', keyId, ...ws.target, '--expires-in', '90d', '--identity', alice.path, '--escrow-dir', ws.path('escrow'), '--notify-command', 'echo boom >&2; exit 7']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/kms-byok: warning: --notify-command failed \(exit 7: boom\); the reimport result stands/);
  });

  it('a hanging hook is stopped after the timeout', async () => {
    let stderr = '';
    const io = { stdout: { write: () => {} }, stderr: { write: (t: string) => void (stderr += t) }, stdin: Readable.from([]), env: { PATH: process.env.PATH }, cwd: ws.dir, interactive: false, stderrIsTTY: false, cancel: neverCancelled() } as unknown as Io;
    const started = Date.now();
    await notify(io, 'sleep 30', { schemaVersion: 1, ceremony: 'test', ok: true, time: new Date().toISOString() }, 300);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(stderr).toContain('did not finish within 300 ms and was stopped');
  });

  it('every onboard also lands in the hash-chained transcript', async () => {
    const t = readFileSync(ws.path('escrow/transcript.md'), 'utf8');
    expect(t).toContain('onboard');
    expect(t).toContain(keyId);
    const v = await run(['transcript', 'verify', ws.path('escrow/transcript.md')]);
    expect(v.code, v.stderr).toBe(0);
  });
});
