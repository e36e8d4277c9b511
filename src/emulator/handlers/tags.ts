/**
 * Resource tags: TagResource, UntagResource, ListResourceTags.
 *
 * Contracts (AWS KMS API reference and Developer Guide, "Tagging keys"):
 * - KeyId is a key id or key ARN (1–2048 characters); an alias names no key here (NotFoundException).
 * - Tags live on the key record (`KeyRecord.tags`, the list CreateKey and ReplicateKey fill) and so
 *   persist in the state file. Order is first-tagged first; overwriting a value keeps the tag's place.
 * - TagResource adds tags and overwrites the values of existing keys. Keys are 1–128 and values 0–256
 *   characters (ValidationException otherwise); a key with the reserved `aws:` prefix (any case) or a
 *   key given twice in one request is a TagException. A key holds at most 50 user tags: a request that
 *   would leave more is a LimitExceededException ("a length constraint or quota was exceeded", the
 *   error TagResource documents and UntagResource, which cannot add tags, does not) and changes nothing.
 * - UntagResource removes the named keys; a key the resource does not have is ignored (AWS: "doesn't
 *   throw an exception"). An `aws:` key is a TagException (such tags cannot be deleted).
 * - TagResource and UntagResource refuse keys pending deletion (KMSInvalidStateException: "You can
 *   add or edit tags on existing keys unless they are pending deletion"); ListResourceTags answers in
 *   every key state (it documents no KMSInvalidStateException).
 * - ListResourceTags pages with Limit (1–50, default 50), Marker, NextMarker and Truncated.
 */
import type { Handler } from '../context.js';
import { fail, validationError } from '../errors.js';
import type { Input } from '../input.js';
import { requireNotPendingDeletion } from '../lifecycle.js';
import { keyArn } from '../lookup.js';
import { pageOf, readKeyId, readTagList } from './keys.js';

/** AWS's limit of user-created tags on one KMS key. */
export const MAX_TAGS_PER_KEY = 50;

function isReserved(tagKey: string): boolean {
  return tagKey.toLowerCase().startsWith('aws:');
}

/** TagKeys of UntagResource: a required list of 1–128-character strings. */
function readTagKeys(input: Input): string[] {
  const v = input.TagKeys;
  if (v === undefined || v === null) throw validationError('TagKeys', v, 'Member must not be null');
  if (!Array.isArray(v)) throw fail('SerializationException', "Could not deserialize member 'TagKeys': expected a list of strings");
  return v.map((k: unknown) => {
    if (typeof k !== 'string') throw fail('SerializationException', "Could not deserialize member 'TagKeys': expected a list of strings");
    if (k.length < 1 || k.length > 128) throw validationError('TagKeys', k, 'Member must have length between 1 and 128');
    return k;
  });
}

export const tagResource: Handler = (ctx, input) => {
  const key = readKeyId(ctx, input);
  if (input.Tags === undefined || input.Tags === null) throw validationError('Tags', input.Tags, 'Member must not be null');
  const tags = readTagList(input);
  requireNotPendingDeletion(key);
  const merged = key.tags.map((t) => ({ ...t }));
  for (const t of tags) {
    const existing = merged.find((m) => m.TagKey === t.TagKey);
    if (existing) existing.TagValue = t.TagValue;
    else merged.push({ TagKey: t.TagKey, TagValue: t.TagValue });
  }
  if (merged.length > MAX_TAGS_PER_KEY) {
    throw fail('LimitExceededException', `${keyArn(key)} would have ${merged.length} tags: a KMS key can have at most ${MAX_TAGS_PER_KEY}.`);
  }
  key.tags = merged;
  return {};
};

export const untagResource: Handler = (ctx, input) => {
  const key = readKeyId(ctx, input);
  const tagKeys = readTagKeys(input);
  const reserved = tagKeys.find(isReserved);
  if (reserved !== undefined) throw fail('TagException', `Tag key ${reserved} uses the reserved prefix aws:`);
  requireNotPendingDeletion(key);
  key.tags = key.tags.filter((t) => !tagKeys.includes(t.TagKey));
  return {};
};

export const listResourceTags: Handler = (ctx, input) => {
  const key = readKeyId(ctx, input);
  const { page, more } = pageOf(key.tags, input, { max: 50, default: 50 });
  return { Tags: page.map((t) => ({ TagKey: t.TagKey, TagValue: t.TagValue })), ...more };
};
