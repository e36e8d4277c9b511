import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  KMSClient,
  ListResourceTagsCommand,
  ScheduleKeyDeletionCommand,
  CancelKeyDeletionCommand,
  TagResourceCommand,
  UntagResourceCommand,
  type Tag,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEmulator } from './emulator.test.helpers.js';
import { KMS_DEFAULT_QUOTAS, type RunningEmulator } from './index.js';
import { parseState } from './state.js';

let emu: RunningEmulator;
let kms: KMSClient;
const dir = mkdtempSync(join(tmpdir(), 'kms-byok-emulator-tags-'));

function client(e: RunningEmulator, region = 'us-east-1'): KMSClient {
  return new KMSClient({ region, endpoint: e.endpoint, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' }, maxAttempts: 1 });
}

beforeAll(async () => {
  emu = await startTestEmulator();
  kms = client(emu);
});
afterAll(async () => {
  kms.destroy();
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

async function newKey(Tags?: Tag[]): Promise<{ KeyId: string; Arn: string }> {
  const m = (await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL', Tags }))).KeyMetadata!;
  return { KeyId: m.KeyId!, Arn: m.Arn! };
}

/** Every tag, following NextMarker; also returns the page sizes seen. */
async function allTags(c: KMSClient, KeyId: string, Limit?: number): Promise<{ tags: Tag[]; pages: number[] }> {
  const tags: Tag[] = [];
  const pages: number[] = [];
  let Marker: string | undefined;
  do {
    const out = await c.send(new ListResourceTagsCommand({ KeyId, Limit, Marker }));
    tags.push(...(out.Tags ?? []));
    pages.push(out.Tags?.length ?? 0);
    expect(out.Truncated === true).toBe(out.NextMarker !== undefined);
    Marker = out.Truncated ? out.NextMarker : undefined;
  } while (Marker);
  return { tags, pages };
}

const named = (n: number, prefix = 'k'): Tag[] => Array.from({ length: n }, (_, i) => ({ TagKey: `${prefix}${String(i).padStart(2, '0')}`, TagValue: `v${i}` }));

describe('TagResource, UntagResource, ListResourceTags', () => {
  it('adds tags, overwrites a value in place, removes tags and ignores unknown keys, by key id or key ARN', async () => {
    const { KeyId, Arn } = await newKey([{ TagKey: 'created', TagValue: 'at-create' }]);
    await kms.send(new TagResourceCommand({ KeyId, Tags: [{ TagKey: 'escrow', TagValue: 'sha256:aa' }, { TagKey: 'empty', TagValue: '' }] }));
    expect((await allTags(kms, KeyId)).tags).toEqual([
      { TagKey: 'created', TagValue: 'at-create' },
      { TagKey: 'escrow', TagValue: 'sha256:aa' },
      { TagKey: 'empty', TagValue: '' },
    ]);
    await kms.send(new TagResourceCommand({ KeyId: Arn, Tags: [{ TagKey: 'escrow', TagValue: 'sha256:bb' }] }));
    const out = await kms.send(new ListResourceTagsCommand({ KeyId: Arn }));
    expect(out).toMatchObject({ Truncated: false, Tags: [{ TagKey: 'created', TagValue: 'at-create' }, { TagKey: 'escrow', TagValue: 'sha256:bb' }, { TagKey: 'empty', TagValue: '' }] });
    expect(out.NextMarker).toBeUndefined();
    // Tag keys are case-sensitive: `Escrow` is another tag.
    await kms.send(new TagResourceCommand({ KeyId, Tags: [{ TagKey: 'Escrow', TagValue: 'x' }] }));
    await kms.send(new UntagResourceCommand({ KeyId: Arn, TagKeys: ['created', 'Escrow', 'never-there'] }));
    expect((await allTags(kms, KeyId)).tags).toEqual([{ TagKey: 'escrow', TagValue: 'sha256:bb' }, { TagKey: 'empty', TagValue: '' }]);
    await kms.send(new UntagResourceCommand({ KeyId, TagKeys: ['escrow', 'empty'] }));
    expect(await kms.send(new ListResourceTagsCommand({ KeyId }))).toMatchObject({ Tags: [], Truncated: false });
  });

  it('pages with Limit (1–50, default 50), NextMarker and Truncated, and refuses a marker it did not issue', async () => {
    const { KeyId } = await newKey();
    await kms.send(new TagResourceCommand({ KeyId, Tags: named(23) }));
    const byThree = await allTags(kms, KeyId, 3);
    expect(byThree.pages).toEqual([3, 3, 3, 3, 3, 3, 3, 2]);
    expect(byThree.tags).toEqual(named(23));
    expect((await allTags(kms, KeyId, 1)).pages).toHaveLength(23);
    expect((await allTags(kms, KeyId)).pages).toEqual([23]);

    await kms.send(new TagResourceCommand({ KeyId, Tags: named(27, 'm') }));
    const full = await allTags(kms, KeyId);
    expect(full.pages).toEqual([50]);
    expect(full.tags).toEqual([...named(23), ...named(27, 'm')]);
    expect((await allTags(kms, KeyId, 49)).pages).toEqual([49, 1]);

    await expect(kms.send(new ListResourceTagsCommand({ KeyId, Limit: 0 }))).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(kms.send(new ListResourceTagsCommand({ KeyId, Limit: 51 }))).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(kms.send(new ListResourceTagsCommand({ KeyId, Marker: 'bm90LWEtbWFya2Vy' }))).rejects.toMatchObject({ name: 'InvalidMarkerException' });
  });

  it('holds at most 50 tags per key: a request that would exceed it is LimitExceededException and changes nothing', async () => {
    const { KeyId } = await newKey(named(10));
    await kms.send(new TagResourceCommand({ KeyId, Tags: named(40, 'x') }));
    expect((await allTags(kms, KeyId)).tags).toHaveLength(50);
    // Overwriting at the limit is fine; one more key is not.
    await kms.send(new TagResourceCommand({ KeyId, Tags: [{ TagKey: 'k00', TagValue: 'new' }] }));
    await expect(kms.send(new TagResourceCommand({ KeyId, Tags: [{ TagKey: 'k01', TagValue: 'changed?' }, { TagKey: 'one-too-many', TagValue: '' }] }))).rejects.toMatchObject({
      name: 'LimitExceededException',
    });
    const after = (await allTags(kms, KeyId)).tags;
    expect(after).toHaveLength(50);
    expect(after.find((t) => t.TagKey === 'k00')?.TagValue).toBe('new');
    expect(after.find((t) => t.TagKey === 'k01')?.TagValue).toBe('v1');
    expect(after.some((t) => t.TagKey === 'one-too-many')).toBe(false);
    // After removing one, there is room again.
    await kms.send(new UntagResourceCommand({ KeyId, TagKeys: ['k02'] }));
    await kms.send(new TagResourceCommand({ KeyId, Tags: [{ TagKey: 'one-too-many', TagValue: '' }] }));
    expect((await allTags(kms, KeyId)).tags).toHaveLength(50);
  });

  it('checks tag keys (1–128), values (0–256), the reserved aws: prefix and duplicate keys as AWS does', async () => {
    const { KeyId } = await newKey();
    await kms.send(new TagResourceCommand({ KeyId, Tags: [{ TagKey: 'a'.repeat(128), TagValue: 'b'.repeat(256) }] }));
    const bad: [Tag[], string][] = [
      [[{ TagKey: 'a'.repeat(129), TagValue: '' }], 'ValidationException'],
      [[{ TagKey: '', TagValue: 'x' }], 'ValidationException'],
      [[{ TagKey: 'ok', TagValue: 'b'.repeat(257) }], 'ValidationException'],
      [[{ TagKey: 'aws:created', TagValue: 'x' }], 'TagException'],
      [[{ TagKey: 'AWS:Created', TagValue: 'x' }], 'TagException'],
      [[{ TagKey: 'dup', TagValue: '1' }, { TagKey: 'dup', TagValue: '2' }], 'TagException'],
    ];
    for (const [Tags, name] of bad) await expect(kms.send(new TagResourceCommand({ KeyId, Tags }))).rejects.toMatchObject({ name });
    await expect(kms.send(new UntagResourceCommand({ KeyId, TagKeys: ['aws:cloudformation:stack-name'] }))).rejects.toMatchObject({ name: 'TagException' });
    await expect(kms.send(new UntagResourceCommand({ KeyId, TagKeys: ['a'.repeat(129)] }))).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(kms.send(new TagResourceCommand({ KeyId, Tags: undefined }))).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(kms.send(new UntagResourceCommand({ KeyId, TagKeys: undefined }))).rejects.toMatchObject({ name: 'ValidationException' });
    // Nothing of the refused requests stuck.
    expect((await allTags(kms, KeyId)).tags).toEqual([{ TagKey: 'a'.repeat(128), TagValue: 'b'.repeat(256) }]);
  });

  it('names keys by key id or ARN only: aliases, unknown keys, other Regions and malformed ARNs are refused', async () => {
    const { KeyId } = await newKey();
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/tagged', TargetKeyId: KeyId }));
    const Tags = [{ TagKey: 't', TagValue: 'v' }];
    for (const id of ['alias/tagged', 'arn:aws:kms:us-east-1:111122223333:alias/tagged', '00000000-0000-0000-0000-000000000000', `arn:aws:kms:eu-west-1:111122223333:key/${KeyId}`]) {
      await expect(kms.send(new TagResourceCommand({ KeyId: id, Tags }))).rejects.toMatchObject({ name: 'NotFoundException' });
      await expect(kms.send(new UntagResourceCommand({ KeyId: id, TagKeys: ['t'] }))).rejects.toMatchObject({ name: 'NotFoundException' });
      await expect(kms.send(new ListResourceTagsCommand({ KeyId: id }))).rejects.toMatchObject({ name: 'NotFoundException' });
    }
    await expect(kms.send(new ListResourceTagsCommand({ KeyId: 'arn:aws:kms:nowhere' }))).rejects.toMatchObject({ name: 'InvalidArnException' });
  });

  it('refuses TagResource and UntagResource on a key pending deletion, lists its tags, and tags again once deletion is cancelled', async () => {
    const { KeyId } = await newKey([{ TagKey: 'keep', TagValue: '1' }]);
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: 7 }));
    await expect(kms.send(new TagResourceCommand({ KeyId, Tags: [{ TagKey: 'new', TagValue: '' }] }))).rejects.toMatchObject({ name: 'KMSInvalidStateException' });
    await expect(kms.send(new UntagResourceCommand({ KeyId, TagKeys: ['keep'] }))).rejects.toMatchObject({ name: 'KMSInvalidStateException' });
    expect((await allTags(kms, KeyId)).tags).toEqual([{ TagKey: 'keep', TagValue: '1' }]);
    await kms.send(new CancelKeyDeletionCommand({ KeyId }));
    await kms.send(new TagResourceCommand({ KeyId, Tags: [{ TagKey: 'new', TagValue: '' }] }));
    expect((await allTags(kms, KeyId)).tags).toEqual([{ TagKey: 'keep', TagValue: '1' }, { TagKey: 'new', TagValue: '' }]);
  });

  it('persists tags in the state file across emulator instances', async () => {
    const stateFile = join(dir, 'state.json');
    const first = await startTestEmulator({ stateFile });
    const c1 = client(first, 'eu-west-1');
    const KeyId = (await c1.send(new CreateKeyCommand({ Origin: 'EXTERNAL', Tags: [{ TagKey: 'a', TagValue: '1' }] }))).KeyMetadata!.KeyId!;
    await c1.send(new TagResourceCommand({ KeyId, Tags: [{ TagKey: 'escrow', TagValue: 'sha256:cc' }, { TagKey: 'a', TagValue: '2' }] }));
    await c1.send(new UntagResourceCommand({ KeyId, TagKeys: ['missing'] }));
    c1.destroy();
    await first.close();

    const saved = parseState(readFileSync(stateFile, 'utf8'));
    expect(saved.regions['eu-west-1']!.keys[KeyId]!.tags).toEqual([{ TagKey: 'a', TagValue: '2' }, { TagKey: 'escrow', TagValue: 'sha256:cc' }]);

    const second = await startTestEmulator({ stateFile });
    const c2 = client(second, 'eu-west-1');
    expect((await allTags(c2, KeyId)).tags).toEqual([{ TagKey: 'a', TagValue: '2' }, { TagKey: 'escrow', TagValue: 'sha256:cc' }]);
    await c2.send(new UntagResourceCommand({ KeyId, TagKeys: ['a'] }));
    c2.destroy();
    await second.close();

    const third = await startTestEmulator({ stateFile });
    const c3 = client(third, 'eu-west-1');
    expect((await allTags(c3, KeyId)).tags).toEqual([{ TagKey: 'escrow', TagValue: 'sha256:cc' }]);
    c3.destroy();
    await third.close();
  });

  it('applies AWS’s request quotas (TagResource 10/s, UntagResource 5/s, ListResourceTags 2000/s) and injected faults to the new operations', async () => {
    expect(KMS_DEFAULT_QUOTAS).toMatchObject({ TagResource: 10, UntagResource: 5, ListResourceTags: 2000 });
    // A bucket of one request that refills in 1000 s: the second request is throttled whatever the machine's speed.
    const limited = await startTestEmulator({ quotas: { TagResource: 0.001, UntagResource: 0.001, ListResourceTags: 0.001 } });
    const c = client(limited);
    const KeyId = (await c.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await c.send(new TagResourceCommand({ KeyId, Tags: [{ TagKey: 'a', TagValue: '1' }] }));
    await expect(c.send(new TagResourceCommand({ KeyId, Tags: [{ TagKey: 'b', TagValue: '2' }] }))).rejects.toMatchObject({ name: 'ThrottlingException' });
    await c.send(new UntagResourceCommand({ KeyId, TagKeys: ['zz'] }));
    await expect(c.send(new UntagResourceCommand({ KeyId, TagKeys: ['a'] }))).rejects.toMatchObject({ name: 'ThrottlingException' });
    expect((await c.send(new ListResourceTagsCommand({ KeyId }))).Tags).toEqual([{ TagKey: 'a', TagValue: '1' }]);
    await expect(c.send(new ListResourceTagsCommand({ KeyId }))).rejects.toMatchObject({ name: 'ThrottlingException' });
    c.destroy();
    await limited.close();

    // `*` faults cover them; after a drop-before, asking KMS shows the tag was not written, and the retry writes it.
    const { KeyId: k } = await newKey();
    emu.faults.add({ operation: '*', kind: 'drop-before', times: 1 });
    await expect(kms.send(new TagResourceCommand({ KeyId: k, Tags: [{ TagKey: 'escrow', TagValue: 'sha256:dd' }] }))).rejects.toThrow();
    expect((await allTags(kms, k)).tags).toEqual([]);
    await kms.send(new TagResourceCommand({ KeyId: k, Tags: [{ TagKey: 'escrow', TagValue: 'sha256:dd' }] }));
    expect((await allTags(kms, k)).tags).toEqual([{ TagKey: 'escrow', TagValue: 'sha256:dd' }]);
  });
});
