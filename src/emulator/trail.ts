/**
 * The emulator's CloudTrail: every KMS request is recorded as a CloudTrail management event, and the
 * events KMS emits on its own (`DeleteExpiredKeyMaterial` when imported material expires, `DeleteKey`
 * when a deletion window ends) as `AwsServiceEvent`s. `LookupEvents` (served on the same port under
 * the X-Amz-Target prefix `com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101`, or
 * `CloudTrail_20131101` as the JavaScript SDK sends it) reads them back.
 * Successful cryptographic operations also set the key's last use (`GetKeyLastUsage`).
 *
 * Contracts (CloudTrail API reference "LookupEvents", KMS developer guide "Logging with CloudTrail"):
 * - An event holds `eventName`, `eventTime` (emulator clock), `eventSource` kms.amazonaws.com,
 *   `userIdentity` (an IAM user named by the signing access key id, as STS GetCallerIdentity names it),
 *   `requestParameters`, `responseElements`, `additionalEventData.keyMaterialId` where a material is
 *   known, `requestID` (the `x-amzn-RequestId` the client received), `errorCode`/`errorMessage` on
 *   failure, and `resources` (the key's ARN). Secret or wrapped bytes are never recorded: Plaintext,
 *   CiphertextBlob, EncryptedKeyMaterial, ImportToken, Message, Mac, Signature, PublicKey and policies
 *   are left out, as CloudTrail leaves them out.
 * - At most {@link MAX_EVENTS} events are kept (oldest dropped); `LookupEvents` returns only the last
 *   90 days, newest first, at most 50 per page (MaxResults 1–50, default 50), one LookupAttribute,
 *   StartTime ≤ EndTime; `NextToken` is bound to the query that issued it.
 * - Quota: 2 LookupEvents requests per second per account and Region (a token bucket of 2 on the
 *   process's monotonic clock); over it → ThrottlingException, nothing done.
 */
import { randomUUID } from 'node:crypto';
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { seconds, type Handler, type HandlerContext } from './context.js';
import { readHeader } from './ciphertext.js';
import { fail, KmsException } from './errors.js';
import { int, str, timestamp, type Input } from './input.js';
import { keyArn, resolveKey } from './lookup.js';
import type { EmulatorState, KeyRecord } from './state.js';

/** The X-Amz-Target prefixes of CloudTrail's JSON 1.1 API: the model's full name, and the short one the JavaScript SDK v3 sends. */
export const CLOUDTRAIL_PREFIX = 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101';
export const CLOUDTRAIL_SDK_PREFIX = 'CloudTrail_20131101';
/** Events kept in the state (oldest dropped first). */
export const MAX_EVENTS = 20_000;
const NINETY_DAYS_MS = 90 * 86_400_000;

/** One recorded event; `detail` is the CloudTrail record (`CloudTrailEvent`'s JSON). */
export interface TrailEvent {
  eventId: string;
  eventName: string;
  /** Epoch ms on the emulator clock. */
  eventTime: number;
  region: string;
  accountId: string;
  username: string;
  accessKeyId?: string;
  readOnly: boolean;
  /** Key ARNs the event is about. */
  resources: string[];
  detail: Record<string, unknown>;
}

/** What `GetKeyLastUsage` reports for a key. */
export interface LastUsage {
  operation: string;
  /** Epoch ms. */
  time: number;
  cloudTrailEventId: string;
  kmsRequestId: string;
}

/** Operations KMS counts as use of a key (GetKeyLastUsage's `Operation` values the emulator serves). */
export const CRYPTOGRAPHIC_OPERATIONS: ReadonlySet<string> = new Set(['Encrypt', 'Decrypt', 'GenerateDataKey', 'GenerateMac', 'VerifyMac', 'Sign', 'Verify']);

const READ_ONLY = /^(Describe|List|Get)/;
/** Request members CloudTrail does not log (secrets, wrapped material, large blobs). */
const UNLOGGED = new Set(['Plaintext', 'CiphertextBlob', 'EncryptedKeyMaterial', 'ImportToken', 'Message', 'Mac', 'Signature', 'PublicKey', 'Policy', 'PrivateKeyPlaintext']);

function events(state: EmulatorState): TrailEvent[] {
  state.trail ??= [];
  return state.trail;
}

/** Lower camel case, as CloudTrail writes request and response members. */
function camel(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

function logged(o: Record<string, unknown> | undefined): Record<string, unknown> | null {
  if (!o) return null;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (UNLOGGED.has(k) || v === undefined) continue;
    out[camel(k)] = v;
  }
  return Object.keys(out).length > 0 ? out : null;
}

/** The key a request concerns, if it names one that exists (a Decrypt without KeyId: its ciphertext's). */
function keyOf(ctx: HandlerContext, input: Input, out: Record<string, unknown> | undefined, keyId?: string): KeyRecord | undefined {
  const meta = out?.KeyMetadata as { KeyId?: unknown } | undefined;
  const candidates: unknown[] = [keyId, out?.KeyId, meta?.KeyId, input.KeyId, input.TargetKeyId, input.DestinationKeyId];
  if (typeof input.CiphertextBlob === 'string') {
    try {
      candidates.push(readHeader(Buffer.from(input.CiphertextBlob, 'base64')).keyId);
    } catch {
      /* not ours: no key */
    }
  }
  for (const c of candidates) {
    if (typeof c !== 'string' || c === '') continue;
    try {
      return resolveKey(ctx, c, { allowAlias: true });
    } catch {
      /* try the next */
    }
  }
  return undefined;
}

function identity(ctx: Pick<HandlerContext, 'accountId' | 'caller'>): Record<string, unknown> {
  const user = ctx.caller ?? 'emulator';
  return { type: 'IAMUser', principalId: user, arn: `arn:aws:iam::${ctx.accountId}:user/${user}`, accountId: ctx.accountId, ...(ctx.caller ? { accessKeyId: ctx.caller } : {}), userName: user };
}

function push(state: EmulatorState, e: TrailEvent): void {
  const list = events(state);
  list.push(e);
  if (list.length > MAX_EVENTS) list.splice(0, list.length - MAX_EVENTS);
}

/**
 * Records one KMS request (answered `out`, or failed with `error`) and, for a successful
 * cryptographic operation, the key's last use. Never throws.
 */
export function recordKmsRequest(ctx: HandlerContext, operation: string, input: Input, out: Record<string, unknown> | undefined, error: KmsException | undefined, keyId?: string): void {
  try {
    const now = ctx.clock.now().getTime();
    const key = keyOf(ctx, input, out, keyId);
    const eventId = randomUUID();
    const requestId = ctx.requestId ?? randomUUID();
    const materialId = typeof out?.KeyMaterialId === 'string' ? out.KeyMaterialId : typeof input.KeyMaterialId === 'string' ? input.KeyMaterialId : materialOfCiphertext(input);
    const detail: Record<string, unknown> = {
      eventVersion: '1.11',
      userIdentity: identity(ctx),
      eventTime: new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      eventSource: 'kms.amazonaws.com',
      eventName: operation,
      awsRegion: ctx.region,
      sourceIPAddress: '127.0.0.1',
      userAgent: 'kms-byok-emulator',
      requestParameters: logged(input),
      responseElements: error ? null : logged(out),
      ...(error ? { errorCode: error.type, errorMessage: error.message } : {}),
      ...(materialId ? { additionalEventData: { keyMaterialId: materialId } } : {}),
      requestID: requestId,
      eventID: eventId,
      readOnly: READ_ONLY.test(operation),
      resources: key ? [{ accountId: key.accountId, type: 'AWS::KMS::Key', ARN: keyArn(key) }] : [],
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: ctx.accountId,
      eventCategory: 'Management',
    };
    push(ctx.state, {
      eventId,
      eventName: operation,
      eventTime: now,
      region: ctx.region,
      accountId: ctx.accountId,
      username: ctx.caller ?? 'emulator',
      ...(ctx.caller ? { accessKeyId: ctx.caller } : {}),
      readOnly: READ_ONLY.test(operation),
      resources: key ? [keyArn(key)] : [],
      detail,
    });
    if (!error && key && CRYPTOGRAPHIC_OPERATIONS.has(operation)) {
      key.lastUsage = { operation, time: now, cloudTrailEventId: eventId, kmsRequestId: requestId };
    }
  } catch {
    // The record must never change the answer the client gets.
  }
}

function materialOfCiphertext(input: Input): string | undefined {
  if (typeof input.CiphertextBlob !== 'string') return undefined;
  try {
    return readHeader(Buffer.from(input.CiphertextBlob, 'base64')).keyMaterialId;
  } catch {
    return undefined;
  }
}

/** Records an event KMS emits on its own (an AwsServiceEvent) at `timeMs`. */
export function recordServiceEvent(state: EmulatorState, key: Pick<KeyRecord, 'keyId' | 'region' | 'accountId'>, eventName: string, timeMs: number, details: Record<string, unknown> = {}): void {
  const eventId = randomUUID();
  const arn = keyArn(key);
  push(state, {
    eventId,
    eventName,
    eventTime: timeMs,
    region: key.region,
    accountId: key.accountId,
    username: 'kms.amazonaws.com',
    readOnly: false,
    resources: [arn],
    detail: {
      eventVersion: '1.11',
      userIdentity: { accountId: key.accountId, invokedBy: 'kms.amazonaws.com' },
      eventTime: new Date(timeMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      eventSource: 'kms.amazonaws.com',
      eventName,
      awsRegion: key.region,
      sourceIPAddress: 'kms.amazonaws.com',
      userAgent: 'kms.amazonaws.com',
      requestParameters: null,
      responseElements: null,
      eventID: eventId,
      readOnly: false,
      resources: [{ accountId: key.accountId, type: 'AWS::KMS::Key', ARN: arn }],
      eventType: 'AwsServiceEvent',
      managementEvent: true,
      recipientAccountId: key.accountId,
      ...(Object.keys(details).length > 0 ? { serviceEventDetails: details, ...(typeof details.keyMaterialId === 'string' ? { additionalEventData: { keyMaterialId: details.keyMaterialId } } : {}) } : {}),
      eventCategory: 'Management',
    },
  });
}

/** GetKeyLastUsage: the key's last successful cryptographic operation, if any, and the tracking start. */
export const getKeyLastUsage: Handler = (ctx, input) => {
  const key = resolveKey(ctx, str(input, 'KeyId', { required: true, max: 2048 }), { allowAlias: true });
  const u = key.lastUsage;
  return {
    KeyId: keyArn(key),
    ...(u ? { KeyLastUsage: { Operation: u.operation, Timestamp: seconds(u.time), CloudTrailEventId: u.cloudTrailEventId, KmsRequestId: u.kmsRequestId } } : {}),
    // The emulator tracks every key from its creation.
    TrackingStartDate: seconds(key.creationDate),
    KeyCreationDate: seconds(key.creationDate),
  };
};

const ATTRIBUTE_KEYS = ['EventId', 'EventName', 'ReadOnly', 'Username', 'ResourceType', 'ResourceName', 'EventSource', 'AccessKeyId'] as const;

function attributeFilter(input: Input): (e: TrailEvent) => boolean {
  const list = input.LookupAttributes;
  if (list === undefined || list === null) return () => true;
  if (!Array.isArray(list)) throw fail('InvalidLookupAttributesException', 'LookupAttributes must be a list');
  if (list.length > 1) throw fail('InvalidLookupAttributesException', 'You cannot specify more than one lookup attribute.');
  if (list.length === 0) return () => true;
  const a = list[0] as { AttributeKey?: unknown; AttributeValue?: unknown };
  const k = a.AttributeKey;
  const v = a.AttributeValue;
  if (typeof k !== 'string' || !(ATTRIBUTE_KEYS as readonly string[]).includes(k)) throw fail('InvalidLookupAttributesException', `Unknown AttributeKey ${String(k)}`);
  if (typeof v !== 'string' || v.length < 1 || v.length > 2000) throw fail('InvalidLookupAttributesException', 'AttributeValue must be 1 to 2000 characters');
  switch (k) {
    case 'EventId':
      return (e) => e.eventId === v;
    case 'EventName':
      return (e) => e.eventName === v;
    case 'ReadOnly':
      return (e) => String(e.readOnly) === v;
    case 'Username':
      return (e) => e.username === v;
    case 'ResourceType':
      return (e) => v === 'AWS::KMS::Key' && e.resources.length > 0;
    case 'ResourceName':
      // A key ARN or a key id names the key's events.
      return (e) => e.resources.some((r) => r === v || r.endsWith(`:key/${v}`));
    case 'EventSource':
      return () => v === 'kms.amazonaws.com';
    case 'AccessKeyId':
      return (e) => e.accessKeyId === v;
  }
  return () => false;
}

/** Token buckets of LookupEvents, per account and Region. */
const buckets = new Map<string, { tokens: number; at: number }>();

/** Takes one LookupEvents token of the (account, Region) bucket; false when none is left. `now` in ms. */
export function admitLookup(scope: string, now: number = performance.now(), rate = 2): boolean {
  const b = buckets.get(scope) ?? { tokens: rate, at: now };
  b.tokens = Math.min(rate, b.tokens + ((now - b.at) / 1000) * rate);
  b.at = now;
  buckets.set(scope, b);
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

function queryHash(input: Input): string {
  const { NextToken: _, MaxResults: __, ...rest } = input;
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex').slice(0, 16);
}

/** CloudTrail LookupEvents over the recorded events of the caller's account and Region. */
export const lookupEvents: Handler = (ctx, input) => {
  if (!admitLookup(`${ctx.accountId}/${ctx.region}`)) throw fail('ThrottlingException', 'Rate exceeded');
  const filter = attributeFilter(input);
  const now = ctx.clock.now().getTime();
  const start = timestamp(input, 'StartTime');
  const end = timestamp(input, 'EndTime');
  if (start !== undefined && end !== undefined && start > end) throw fail('InvalidTimeRangeException', 'Start time must be before end time.');
  if (input.EventCategory !== undefined && input.EventCategory !== 'insight') throw fail('InvalidEventCategoryException', 'EventCategory must be insight');
  let max: number | undefined;
  try {
    max = int(input, 'MaxResults', 1, 50);
  } catch {
    throw fail('InvalidMaxResultsException', 'MaxResults must be between 1 and 50.');
  }
  const limit = max ?? 50;
  const hash = queryHash(input);
  let offset = 0;
  const token = str(input, 'NextToken', { min: 1, max: 1024 });
  if (token !== undefined) {
    const m = /^ct1:([0-9a-f]{16}):(\d+)$/.exec(Buffer.from(token, 'base64').toString('utf8'));
    if (!m || m[1] !== hash) throw fail('InvalidNextTokenException', 'Invalid NextToken: it must be passed with the parameters of the call that returned it.');
    offset = Number(m[2]);
  }
  // Insight events: the emulator records none.
  const matched =
    input.EventCategory === 'insight'
      ? []
      : events(ctx.state)
          .filter((e) => e.accountId === ctx.accountId && e.region === ctx.region)
          .filter((e) => e.eventTime >= now - NINETY_DAYS_MS && (start === undefined || e.eventTime >= start) && (end === undefined || e.eventTime <= end))
          .filter(filter)
          .sort((a, b) => b.eventTime - a.eventTime);
  const page = matched.slice(offset, offset + limit);
  const next = offset + page.length;
  return {
    Events: page.map((e) => ({
      EventId: e.eventId,
      EventName: e.eventName,
      ReadOnly: String(e.readOnly),
      ...(e.accessKeyId ? { AccessKeyId: e.accessKeyId } : {}),
      EventTime: seconds(e.eventTime),
      EventSource: 'kms.amazonaws.com',
      Username: e.username,
      Resources: e.resources.map((r) => ({ ResourceType: 'AWS::KMS::Key', ResourceName: r })),
      CloudTrailEvent: JSON.stringify(e.detail),
    })),
    ...(next < matched.length ? { NextToken: Buffer.from(`ct1:${hash}:${next}`).toString('base64') } : {}),
  };
};
