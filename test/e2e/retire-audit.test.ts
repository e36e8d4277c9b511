/**
 * The evidence loop end to end on the emulator (docs/audit.md): onboard A → rotate --new-key (B takes
 * the alias) → an application decrypts with A → retire refuses, naming who and when → 31 quiet days →
 * disable → schedule deletion → a use during the window shows in audit and matches the printed alarm →
 * cancel; a second run lets the window pass and A is gone. Plus the bad inputs of retire and audit,
 * and a change made with the aws CLI outside kms-byok.
 */
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { CreateKeyCommand, DecryptCommand, DeleteAliasCommand, DescribeKeyCommand, DisableKeyCommand, EncryptCommand, ScheduleKeyDeletionCommand, UntagResourceCommand } from '@aws-sdk/client-kms';
import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alarmMatches } from '../../src/policy/alarms.js';
import { appendEntry } from '../../src/records/transcript.js';
import { operations, run, workspace, type Workspace } from './harness.js';
import { custodian } from './identities.js';
import { onboardKey } from './lifecycle-helpers.js';

const DAY = 86_400_000;
let ws: Workspace;
let alice: { recipient: string; path: string };

beforeAll(async () => {
  ws = await workspace();
  alice = await custodian(ws.path('alice.txt'));
});
afterAll(async () => {
  await ws.close();
});

const escrow = () => ['--escrow-dir', ws.path('escrow')];

interface AuditJson {
  schemaVersion: number;
  needsAttention: boolean;
  explained: { eventName: string; requestId?: string }[];
  unexplained: { eventName: string; principal?: string; time: string; keyArn: string; requestId?: string; note?: string }[];
  refusedChanges: { eventName: string; errorCode?: string }[];
  anchors: { keyArn: string; status: string }[];
  missingFromTrail: unknown[];
  service: { eventName: string; keyArn: string }[];
  refusedUses: { eventName: string; errorCode?: string; eventId: string; principal?: string }[];
}

describe('retire and audit: the evidence loop', () => {
  it('refuses while A is in use, retires it after 31 quiet days, sees and alarms on a use during the window, cancels; a second window deletes A', async () => {
    const a = await onboardKey(ws, alice.recipient, ['--alias', 'alias/app', '--no-expiry']);
    const ct = (await ws.kms.send(new EncryptCommand({ KeyId: 'alias/app', Plaintext: Buffer.from('order 1') }))).CiphertextBlob!;
    const rot = await run(['rotate', 'alias/app', '--new-key', '--yes', '--no-expiry', ...ws.target, ...escrow(), '--json']);
    expect(rot.code, rot.stderr).toBe(0);
    const b = rot.json<{ keyId: string }>();

    // Only kms-byok ceremonies so far: everything CloudTrail shows is explained.
    const clean = await run(['audit', ...ws.target, ...escrow(), '--json']);
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);
    const cleanDoc = clean.json<AuditJson>();
    expect(cleanDoc.unexplained).toEqual([]);
    expect(cleanDoc.explained.map((e) => e.eventName)).toEqual(expect.arrayContaining(['CreateKey', 'ImportKeyMaterial', 'CreateAlias', 'UpdateAlias']));

    // An application still decrypts with A.
    await ws.kms.send(new DecryptCommand({ CiphertextBlob: ct }));
    const show = await run(['retire', a.keyId, ...ws.target, ...escrow()]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/last use \(GetKeyLastUsage\): Decrypt at /);
    expect(show.stdout).toMatch(/Decrypt by arn:aws:iam::111122223333:user\/AKIDTEST/);
    const before = operations(ws.emu).length;
    const refused = await run(['retire', a.keyId, '--disable', '--yes', '--reason', 'rotated to B', ...ws.target, ...escrow()]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('ERR_RETIRE_REFUSED');
    expect(refused.stderr).toMatch(/was used at \S+ by arn:aws:iam::111122223333:user\/AKIDTEST, within --quiet-for/);
    expect(operations(ws.emu).slice(before)).not.toContain('DisableKey');

    // 31 days without use.
    ws.emu.clock.advance(31 * DAY);
    const disable = await run(['retire', a.keyId, '--disable', '--yes', '--reason', 'rotated to B', ...ws.target, ...escrow(), '--json']);
    expect(disable.code, disable.stderr).toBe(0);
    expect(disable.json()).toMatchObject({ stateBefore: 'Enabled', stateAfter: 'Disabled', aliases: [], overridden: [] });
    const schedule = await run(['retire', a.keyId, '--schedule-deletion', '--pending-window', '7d', '--yes', '--reason', 'quiet 31 days', '--identity', alice.path, ...ws.target, ...escrow()]);
    expect(schedule.code, schedule.stderr).toBe(0);
    expect(schedule.stdout).toMatch(/state\s+Disabled → PendingDeletion/);
    expect(schedule.stderr).toMatch(/ciphertexts of a deleted key cannot be decrypted, even with the escrow/);
    expect(schedule.stdout).toMatch(/escrow\s+escrow .* covers every material/);

    // A use during the window: refused by KMS, listed by audit, and matched by the printed alarm.
    await expect(ws.kms.send(new DecryptCommand({ CiphertextBlob: ct }))).rejects.toMatchObject({ name: 'KMSInvalidStateException' });
    const seen = await run(['audit', a.keyArn, ...ws.target, ...escrow(), '--json']);
    expect(seen.code, seen.stderr).toBe(3);
    const doc = seen.json<AuditJson>();
    expect(doc.unexplained).toEqual([]);
    expect(doc.explained.map((e) => e.eventName)).toEqual(expect.arrayContaining(['DisableKey', 'ScheduleKeyDeletion']));
    expect(doc.refusedUses).toEqual([expect.objectContaining({ eventName: 'Decrypt', errorCode: 'KMSInvalidStateException', principal: 'arn:aws:iam::111122223333:user/AKIDTEST' })]);
    const alarms = await run(['alarms', '--print', 'cloudformation', '--sns-topic-arn', 'arn:aws:sns:us-east-1:111122223333:kms-alerts', a.keyArn]);
    expect(alarms.code, alarms.stderr).toBe(0);
    const template = JSON.parse(alarms.stdout) as { Resources: Record<string, { Type: string; Properties: { FilterPattern?: string } }> };
    const filter = Object.values(template.Resources).find((r) => r.Type === 'AWS::Logs::MetricFilter' && r.Properties.FilterPattern?.includes('pending deletion'))!;
    const trail = new CloudTrailClient({ region: 'us-east-1', endpoint: ws.emu.endpoint, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'x' }, maxAttempts: 10 });
    const event = (await trail.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventId', AttributeValue: doc.refusedUses[0]!.eventId }] }))).Events![0]!;
    trail.destroy();
    expect(alarmMatches({ pattern: filter.Properties.FilterPattern! }, JSON.parse(event.CloudTrailEvent!) as Record<string, string>)).toBe(true);

    const cancel = await run(['retire', a.keyId, '--cancel', '--yes', '--reason', 'still in use', ...ws.target, ...escrow(), '--json']);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.json()).toMatchObject({ stateBefore: 'PendingDeletion', stateAfter: 'Disabled' });
    // Every retire step is in the transcript, chained, with its KMS request ids.
    const transcript = readFileSync(ws.path('escrow/transcript.md'), 'utf8');
    expect(transcript).toMatch(/## \S+ retire --disable[\s\S]*- DisableKey [0-9a-f-]{36}/);
    expect(transcript).toMatch(/## \S+ retire --cancel[\s\S]*- CancelKeyDeletion [0-9a-f-]{36}/);
    expect((await run(['transcript', 'verify', ws.path('escrow/transcript.md')])).code).toBe(0);

    // The second run: the window passes and A is gone; B is untouched.
    ws.emu.clock.advance(31 * DAY);
    const again = await run(['retire', a.keyId, '--schedule-deletion', '--pending-window', '7d', '--yes', '--reason', 'quiet again', '--identity', alice.path, ...ws.target, ...escrow()]);
    expect(again.code, again.stderr).toBe(0);
    ws.emu.clock.advance(8 * DAY);
    await expect(ws.kms.send(new DescribeKeyCommand({ KeyId: a.keyId }))).rejects.toMatchObject({ name: 'NotFoundException' });
    expect((await ws.kms.send(new DescribeKeyCommand({ KeyId: b.keyId }))).KeyMetadata?.KeyState).toBe('Enabled');
    const gone = await run(['audit', a.keyArn, ...ws.target, ...escrow(), '--since', '10d', '--json']);
    expect(gone.code, gone.stderr).toBe(0);
    expect(gone.json<AuditJson>().service).toEqual([expect.objectContaining({ eventName: 'DeleteKey', keyArn: a.keyArn })]);
  });

  it('audit names a DeleteImportedKeyMaterial made with the aws CLI, with its principal, and exits 3', async (t) => {
    if (spawnSync('aws', ['--version']).status !== 0) t.skip();
    const c = await onboardKey(ws, alice.recipient, ['--no-expiry']);
    // Asynchronously: the emulator answers from this process's event loop.
    await promisify(execFile)('aws', ['kms', 'delete-imported-key-material', '--key-id', c.keyId, '--endpoint-url', ws.emu.endpoint, '--region', 'us-east-1'], {
      env: { PATH: process.env.PATH, HOME: ws.dir, AWS_ACCESS_KEY_ID: 'AKIDOUTSIDER', AWS_SECRET_ACCESS_KEY: 'x', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' },
    });
    const r = await run(['audit', c.keyId, ...ws.target, ...escrow()]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toMatch(new RegExp(`UNEXPLAINED \\S+ DeleteImportedKeyMaterial on ${c.keyArn} by arn:aws:iam::111122223333:user/AKIDOUTSIDER`));
  });
});

describe('audit: what it trusts and what it audits', () => {
  it('an entry appended to the chain after the anchored head does not explain an outside DisableKey', async () => {
    const k = await onboardKey(ws, alice.recipient, ['--no-expiry']);
    const outside = await ws.kms.send(new DisableKeyCommand({ KeyId: k.keyId }));
    const requestId = outside.$metadata.requestId!;
    // The forger can write the file: a valid chain entry claiming the outside request.
    const path = ws.path('escrow/transcript.md');
    const existing = readFileSync(path, 'utf8');
    const forged = appendEntry(existing, { ceremony: 'retire --disable', time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'), outcome: 'ok', fields: [['key', k.keyArn], ['KMS requests', [`DisableKey ${requestId}`]]] });
    writeFileSync(path, existing + forged.text);
    expect((await run(['transcript', 'verify', path])).code).toBe(0);
    const r = await run(['audit', k.keyArn, ...ws.target, ...escrow(), '--json']);
    expect(r.code, r.stderr).toBe(3);
    const doc = r.json<AuditJson>();
    expect(doc.unexplained).toEqual([expect.objectContaining({ eventName: 'DisableKey', requestId, note: expect.stringMatching(/^explained only by transcript entries after the head anchored on the key \(/) })]);
    expect(doc.anchors).toEqual([expect.objectContaining({ keyArn: k.keyArn, status: 'anchored' })]);
    const text = await run(['audit', k.keyArn, ...ws.target, ...escrow()]);
    expect(text.stdout).toMatch(new RegExp(`UNEXPLAINED \\S+ DisableKey on ${k.keyArn} .*request ${requestId}.*explained only by transcript entries after the head`));
  });

  it('an outside UntagResource of the head, an outside DeleteAlias and a refused ScheduleKeyDeletion are named', async () => {
    const k = await onboardKey(ws, alice.recipient, ['--alias', 'alias/outside', '--no-expiry']);
    const clean = await run(['audit', k.keyArn, ...ws.target, ...escrow(), '--json']);
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);
    expect(clean.json<AuditJson>().explained.map((e) => e.eventName)).toContain('TagResource');
    await ws.kms.send(new DeleteAliasCommand({ AliasName: 'alias/outside' }));
    await ws.kms.send(new UntagResourceCommand({ KeyId: k.keyId, TagKeys: ['kms-byok:transcript-head'] }));
    // Refused by KMS (a window under 7 days), but an attempt to change the key all the same.
    await expect(ws.kms.send(new ScheduleKeyDeletionCommand({ KeyId: k.keyId, PendingWindowInDays: 3 }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 400 } });
    const r = await run(['audit', k.keyArn, ...ws.target, ...escrow(), '--json']);
    expect(r.code, r.stderr).toBe(3);
    const doc = r.json<AuditJson>();
    expect(doc.unexplained.map((e) => e.eventName)).toEqual(['DeleteAlias', 'UntagResource']);
    expect(doc.refusedChanges, JSON.stringify(doc.refusedChanges)).toEqual([expect.objectContaining({ eventName: 'ScheduleKeyDeletion', errorCode: expect.any(String) })]);
    // The tag is gone, but CloudTrail still shows the head kms-byok's onboard anchored.
    expect(doc.anchors).toEqual([expect.objectContaining({ keyArn: k.keyArn, status: 'anchored' })]);
    const text = await run(['audit', k.keyArn, ...ws.target, ...escrow()]);
    expect(text.stdout).toMatch(/REFUSED CHANGE \S+ ScheduleKeyDeletion on .*: \w+Exception/);
    expect(text.stdout).not.toContain('every audited operation CloudTrail shows');
  });
  it('a key no transcript entry anchors is itself reported', async () => {
    const k = (await ws.kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    const r = await run(['audit', k.Arn!, ...ws.target, ...escrow()]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toContain(`NOT ANCHORED ${k.Arn}`);
    expect(r.stdout).toMatch(/UNEXPLAINED \S+ CreateKey /);
  });
});

describe('status: last use', () => {
  it('shows GetKeyLastUsage per key, and the Prometheus gauge of seconds since last use', async () => {
    const k = await onboardKey(ws, alice.recipient, ['--no-expiry']);
    await ws.kms.send(new EncryptCommand({ KeyId: k.keyId, Plaintext: Buffer.from('x') }));
    ws.emu.clock.advance(2 * DAY);
    const st = await run(['status', k.keyId, ...ws.target, ...escrow(), '--json']);
    expect([0, 3], st.stderr).toContain(st.code);
    const row = st.json<{ keys: { lastUse?: { operation?: string; time?: string } }[] }>().keys[0]!;
    expect(row.lastUse?.operation).toBe('Encrypt');
    const prom = await run(['status', k.keyId, ...ws.target, ...escrow(), '--format', 'prometheus']);
    const gauge = new RegExp(`kms_byok_key_seconds_since_last_use\\{key_id="${k.keyId}",region="us-east-1",operation="Encrypt"\\} (\\d+)`).exec(prom.stdout);
    expect(gauge, prom.stdout).not.toBeNull();
    expect(Number(gauge![1])).toBeGreaterThanOrEqual(2 * 86_400);
  });
});

describe('retire and audit: bad input', () => {
  it('a pending window of 6 or 31 days is exit 2 before any KMS request', async () => {
    const before = operations(ws.emu).length;
    for (const w of ['6d', '31d', '7x']) {
      const r = await run(['retire', '1234abcd-12ab-34cd-56ef-1234567890ab', '--schedule-deletion', '--pending-window', w, '--yes', '--reason', 'x', ...ws.target, ...escrow()]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('ERR_INVALID_ARGUMENT');
      expect(r.stderr).toContain('KMS accepts 7 to 30 days');
    }
    const noReason = await run(['retire', '1234abcd-12ab-34cd-56ef-1234567890ab', '--disable', '--yes', ...ws.target, ...escrow()]);
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toContain('missing --reason');
    const unattended = await run(['retire', '1234abcd-12ab-34cd-56ef-1234567890ab', '--disable', ...ws.target, ...escrow()]);
    expect(unattended.code).toBe(2);
    expect(operations(ws.emu).length).toBe(before);
  });

  it('a key an alias still targets is refused; cancelling a key not pending deletion is refused', async () => {
    const k = await onboardKey(ws, alice.recipient, ['--alias', 'alias/busy', '--no-expiry']);
    const r = await run(['retire', k.keyId, '--disable', '--yes', '--reason', 'x', ...ws.target, ...escrow()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/alias\/busy still targets/);
    const c = await run(['retire', k.keyId, '--cancel', '--yes', '--reason', 'x', ...ws.target, ...escrow()]);
    expect(c.code).toBe(1);
    expect(c.stderr).toMatch(/is not pending deletion \(state Enabled\): there is nothing to cancel/);
    expect((await ws.kms.send(new DescribeKeyCommand({ KeyId: k.keyId }))).KeyMetadata?.KeyState).toBe('Enabled');
  });

  it('--schedule-deletion of an EXTERNAL key opens the escrow: no opener is exit 2 before KMS, --force does not override it, a forged escrow with a matching sidecar is refused', async () => {
    const k = await onboardKey(ws, alice.recipient, ['--no-expiry']);
    ws.emu.clock.advance(31 * DAY);
    expect((await run(['retire', k.keyId, '--disable', '--yes', '--reason', 'x', ...ws.target, ...escrow()])).code).toBe(0);
    const before = operations(ws.emu).length;
    for (const extra of [[], ['--force']]) {
      const r = await run(['retire', k.keyId, '--schedule-deletion', '--pending-window', '7d', '--yes', '--reason', 'x', ...extra, ...ws.target, ...escrow()]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain('ERR_MISSING_INPUT');
      expect(r.stderr).toContain('--identity');
    }
    expect(operations(ws.emu).length).toBe(before);

    // The forged escrow: garbage in the .age file, its SHA-256 written into the sidecar.
    const sidecarPath = `${k.escrow.path}.json`;
    const sidecar = JSON.parse(readFileSync(sidecarPath, 'utf8')) as { files: { path?: string; name?: string; sha256: string }[] };
    const garbage = Buffer.from('garbage\n');
    writeFileSync(k.escrow.path, garbage);
    for (const f of sidecar.files) if (basename(f.path ?? f.name ?? '') === basename(k.escrow.path)) f.sha256 = createHash('sha256').update(garbage).digest('hex');
    writeFileSync(sidecarPath, JSON.stringify(sidecar, null, 2));
    const status = await run(['status', k.keyId, ...ws.target, ...escrow(), '--json']);
    expect(status.json<{ keys: { escrowCheck: { matches: boolean } }[] }>().keys[0]!.escrowCheck.matches, 'the forged sidecar fools the sidecar-only check').toBe(true);
    for (const extra of [[], ['--force']]) {
      const r = await run(['retire', k.keyId, '--schedule-deletion', '--pending-window', '7d', '--yes', '--reason', 'x', '--identity', alice.path, ...extra, ...ws.target, ...escrow()]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain('ERR_RETIRE_REFUSED');
      expect(r.stderr).toMatch(/the escrow does not cover every material/);
    }
    expect(operations(ws.emu).slice(before)).not.toContain('ScheduleKeyDeletion');
    expect((await ws.kms.send(new DescribeKeyCommand({ KeyId: k.keyId }))).KeyMetadata?.KeyState).toBe('Disabled');
    // Only --without-escrow overrides it, loudly.
    const w = await run(['retire', k.keyId, '--schedule-deletion', '--pending-window', '7d', '--yes', '--reason', 'x', '--without-escrow', ...ws.target, ...escrow(), '--json']);
    expect(w.code, w.stderr).toBe(0);
    expect(w.stderr).toMatch(/--without-escrow: .* lost for good/);
    expect(w.json()).toMatchObject({ stateAfter: 'PendingDeletion', overridden: ['escrow'], escrow: { applies: true, covered: false } });
  });

  it('a key that is not EXTERNAL retires; the escrow checks say they do not apply', async () => {
    const k = (await ws.kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    const d = await run(['retire', k.KeyId!, '--disable', '--yes', '--reason', 'unused', ...ws.target, ...escrow()]);
    expect(d.code, d.stderr).toBe(0);
    const s = await run(['retire', k.KeyId!, '--schedule-deletion', '--pending-window', '30d', '--yes', '--reason', 'unused', ...ws.target, ...escrow(), '--json']);
    expect(s.code, s.stderr).toBe(0);
    expect(s.json()).toMatchObject({ origin: 'AWS_KMS', stateAfter: 'PendingDeletion', escrow: { applies: false, note: expect.stringMatching(/escrow checks do not apply/) } });
  });

  it('typing the key id back confirms on a terminal; anything else changes nothing', async () => {
    const k = (await ws.kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    const wrong = await run(['retire', k.KeyId!, '--disable', ...ws.target, ...escrow()], { interactive: true, stdin: 'yes\n' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('ERR_NOT_CONFIRMED');
    expect((await ws.kms.send(new DescribeKeyCommand({ KeyId: k.KeyId }))).KeyMetadata?.KeyState).toBe('Enabled');
    const right = await run(['retire', k.KeyId!, '--disable', ...ws.target, ...escrow()], { interactive: true, stdin: `${k.KeyId}\n` });
    expect(right.code, right.stderr).toBe(0);
    expect((await ws.kms.send(new DescribeKeyCommand({ KeyId: k.KeyId }))).KeyMetadata?.KeyState).toBe('Disabled');
  });

  it('CloudTrail access denied: the evidence is MISSING (never "no use") and retire refuses without --force', async () => {
    const k = (await ws.kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    const proxy = await denyCloudTrail(ws.emu.endpoint);
    try {
      const target = ['--endpoint-url', proxy.endpoint, '--region', 'us-east-1'];
      const show = await run(['retire', k.KeyId!, ...target, ...escrow()]);
      expect(show.code, show.stderr).toBe(0);
      expect(show.stdout).toMatch(/CloudTrail: MISSING — .*AccessDeniedException.*\(this is not evidence of no use\)/);
      const r = await run(['retire', k.KeyId!, '--disable', '--yes', '--reason', 'x', ...target, ...escrow()]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/usage evidence of .* is incomplete/);
      const forced = await run(['retire', k.KeyId!, '--disable', '--yes', '--force', '--reason', 'trail off, owner confirmed', ...target, ...escrow(), '--json']);
      expect(forced.code, forced.stderr).toBe(0);
      expect(forced.json()).toMatchObject({ stateAfter: 'Disabled', overridden: ['evidence'] });
      const audit = await run(['audit', k.Arn!, ...target, ...escrow()]);
      expect(audit.code).toBe(1);
      expect(audit.stderr).toContain('ERR_TRAIL_UNAVAILABLE');
    } finally {
      await proxy.close();
    }
  });

  it('audit refuses a transcript whose chain check fails, before any request', async () => {
    const path = ws.path('broken-transcript.md');
    writeFileSync(path, readFileSync(ws.path('escrow/transcript.md'), 'utf8').replace('- **outcome**: ', '- **outcome**: edited '));
    const before = operations(ws.emu).length;
    const r = await run(['audit', ...ws.target, '--transcript', path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/chain is broken at entry 1: .*audit does not reconcile against it/);
    expect(operations(ws.emu).length).toBe(before);
  });
});

/** A loopback proxy that answers CloudTrail requests with AccessDeniedException and forwards the rest. */
async function denyCloudTrail(upstream: string): Promise<{ endpoint: string; close(): Promise<void> }> {
  const proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (String(req.headers['x-amz-target'] ?? '').startsWith('CloudTrail_20131101.')) {
        const body = JSON.stringify({ __type: 'AccessDeniedException', message: 'not authorized to perform cloudtrail:LookupEvents' });
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': 'AccessDeniedException', 'content-length': String(body.length) });
        res.end(body);
        return;
      }
      const up = request(`${upstream}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 500, answer.headers);
        answer.pipe(res);
      });
      up.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  return { endpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, close: () => new Promise<void>((r) => proxy.close(() => r())) };
}
