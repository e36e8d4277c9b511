/**
 * `audit`: reconciles CloudTrail with the hash-chained transcript (docs/audit.md, "Audit"). Pure over
 * the CloudTrail port and the transcript's text.
 *
 * Contracts:
 * - The transcript must pass its chain check (`verifyTranscript`); otherwise ERR_TRANSCRIPT_FORMAT and
 *   nothing is reconciled against it.
 * - Matching is by KMS request id: a ceremony's entry lists `KMS requests` as `<Operation> <request id>`
 *   (every successful call, as the SDK reports `$metadata.requestId`), and CloudTrail's record carries
 *   the same id as `requestID`. Transcripts written before audit existed already have these lines.
 * - A successful CloudTrail event of {@link AUDITED_OPERATIONS} on an audited key without a transcript
 *   entry of that request id is unexplained (done outside kms-byok), listed with principal and time.
 * - A transcript request of those operations, in an entry since `since` that names only audited keys,
 *   with no CloudTrail event, is missing from CloudTrail.
 * - Events KMS emits itself ({@link SERVICE_EVENTS}) are listed, not unexplained: they follow from a
 *   ValidTo, a rotation or a deletion window the explained calls set.
 * - Refused uses of a disabled or pending-deletion key (what the alarm of `kms-byok alarms` fires on)
 *   are listed and need attention.
 * - Entries are trusted only up to the head anchored on each key (docs/audit.md, "What audit trusts"):
 *   the key's `kms-byok:transcript-head` tag, or a later head a kms-byok TagResource of that tag
 *   carried in CloudTrail (also one KMS refused because the key was pending deletion). A chain anyone
 *   who can write the file can extend; the anchor needs kms:TagResource on the key. Events explained
 *   only by later entries are unexplained; a key without such an anchor is itself reported.
 * - A refused or failed attempt of an audited operation is listed as a refused change, except
 *   kms-byok's own transcript-head TagResource of a head in the chain.
 */
import { KmsByokError } from '../core/errors.js';
import type { CloudTrailPort, TrailEvent } from '../kms/cloudtrail-port.js';
import { TRANSCRIPT_TAG, verifyTranscript } from '../records/transcript.js';
import { USE_OPERATIONS } from './usage.js';

/** Every mutating KMS operation on a key that audit reconciles (AWS's names; docs/audit.md lists them). */
export const AUDITED_OPERATIONS: ReadonlySet<string> = new Set([
  'CreateKey',
  'TagResource',
  'UntagResource',
  'DeleteAlias',
  'CreateGrant',
  'RetireGrant',
  'RevokeGrant',
  'ReplicateKey',
  'UpdatePrimaryRegion',
  'UpdateKeyDescription',
  'ImportKeyMaterial',
  'DeleteImportedKeyMaterial',
  'RotateKeyOnDemand',
  'ScheduleKeyDeletion',
  'CancelKeyDeletion',
  'DisableKey',
  'EnableKey',
  'PutKeyPolicy',
  'CreateAlias',
  'UpdateAlias',
]);

/** Events KMS records on its own account (AwsServiceEvent). */
export const SERVICE_EVENTS: ReadonlySet<string> = new Set(['DeleteExpiredKeyMaterial', 'RotateKey', 'DeleteKey']);

/** One ceremony entry of the transcript, as audit reads it. */
export interface TranscriptCeremony {
  time: string;
  ceremony: string;
  /** The entry's SHA-256 (its chain link): what a ceremony anchors on a key as the transcript head. */
  sha256: string;
  keyArns: string[];
  /** `[operation, requestId]` of each KMS request it lists. */
  requests: [string, string][];
}

const MARKER = /<!-- kms-byok-entry prev=(?:genesis|[0-9a-f]{64}) sha256=([0-9a-f]{64}) -->\n/g;
const KEY_ARN = /arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+/g;

/** The entries of a transcript whose chain is intact; ERR_TRANSCRIPT_FORMAT otherwise. */
export function readCeremonies(text: string, path: string): TranscriptCeremony[] {
  const check = verifyTranscript(text);
  if (!check.ok) {
    throw new KmsByokError('ERR_TRANSCRIPT_FORMAT', check.foreign ? `${path} is not a kms-byok transcript: audit does not reconcile against it` : `the transcript's chain is broken at entry ${check.broken!.entry}: ${check.broken!.reason}; audit does not reconcile against it`, {
      hint: `kms-byok transcript verify ${path} shows where; give the intact transcript with --transcript`,
    });
  }
  const out: TranscriptCeremony[] = [];
  let pos = 0;
  MARKER.lastIndex = 0;
  for (let m = MARKER.exec(text); m !== null; m = MARKER.exec(text)) {
    const body = text.slice(pos, m.index);
    pos = m.index + m[0].length;
    const lines = body.split('\n');
    const h = lines.findIndex((l) => l.startsWith('## '));
    if (h < 0) continue;
    const heading = /^## (\S+) (.+)$/.exec(lines[h]!);
    const requests: [string, string][] = [];
    const at = lines.findIndex((l) => l === '- **KMS requests**:');
    if (at >= 0) {
      for (const l of lines.slice(at + 1)) {
        const r = /^ {2}- (\w+) (\S+)$/.exec(l);
        if (!r) break;
        requests.push([r[1]!, r[2]!]);
      }
    }
    out.push({ time: heading?.[1] ?? '', ceremony: heading?.[2] ?? '', sha256: m[1]!, keyArns: [...new Set(body.match(KEY_ARN) ?? [])], requests });
  }
  return out;
}

export interface AuditedEvent {
  eventName: string;
  time: string;
  keyArn: string;
  principal?: string;
  requestId?: string;
  eventId: string;
  keyMaterialId?: string;
  errorCode?: string;
  /** The transcript entry that explains it (`<time> <ceremony>`). */
  entry?: string;
  /** Why an event a transcript entry claims is still unexplained. */
  note?: string;
}

/** How far audit trusts the transcript for one key. */
export interface KeyAnchor {
  keyArn: string;
  /** anchored: the head names an entry of the chain that names the key; otherwise the key needs attention. */
  status: 'anchored' | 'unanchored' | 'mismatched';
  /** The head audit trusts up to (the newest of the tag and kms-byok's TagResource events). */
  head?: string;
  /** The `<time> <ceremony>` of the entry the head names. */
  entry?: string;
  /** The tag's value in KMS (absent: no tag, or a deleted key). */
  tag?: string;
}

export interface AuditResult {
  since: string;
  until: string;
  keys: string[];
  entries: number;
  anchors: KeyAnchor[];
  explained: AuditedEvent[];
  unexplained: AuditedEvent[];
  missingFromTrail: { operation: string; requestId: string; entry: string }[];
  service: AuditedEvent[];
  refusedUses: AuditedEvent[];
  refusedChanges: AuditedEvent[];
  needsAttention: boolean;
}

function eventOf(e: TrailEvent, keyArn: string, extra: { entry?: string; note?: string } = {}): AuditedEvent {
  const principal = e.principal ?? e.Username;
  return {
    eventName: e.EventName,
    time: e.EventTime.toISOString(),
    keyArn,
    ...(principal ? { principal } : {}),
    ...(e.requestID ? { requestId: e.requestID } : {}),
    eventId: e.EventId,
    ...(e.keyMaterialId ? { keyMaterialId: e.keyMaterialId } : {}),
    ...(e.errorCode ? { errorCode: e.errorCode } : {}),
    ...(extra.entry ? { entry: extra.entry } : {}),
    ...(extra.note ? { note: extra.note } : {}),
  };
}

/** A refused use the pending-deletion/disabled alarm counts. */
function isRefusedUse(e: TrailEvent): boolean {
  return USE_OPERATIONS.has(e.EventName) && (e.errorCode === 'DisabledException' || (e.errorCode === 'KMSInvalidStateException' && /pending deletion/i.test(e.errorMessage ?? '')));
}

const label = (c: TranscriptCeremony) => `${c.time} ${c.ceremony}`;

/**
 * The index of the entry a kms-byok transcript-head TagResource event sets on `keyArn`, when it sets
 * only that tag to the SHA-256 of an entry that names the key; undefined otherwise.
 */
function headTagEntry(e: TrailEvent, keyArn: string, ceremonies: TranscriptCeremony[]): number | undefined {
  if (e.EventName !== 'TagResource' || !e.tags || e.tags.length !== 1 || e.tags[0]!.key !== TRANSCRIPT_TAG) return undefined;
  const i = ceremonies.findIndex((c) => c.sha256 === e.tags![0]!.value && c.keyArns.includes(keyArn));
  return i < 0 ? undefined : i;
}

/**
 * `tags`: each audited key's `kms-byok:transcript-head` tag as KMS holds it (undefined: none, or the
 * key is deleted).
 */
export async function runAudit(
  o: { keyArns: string[]; since: Date; until: Date; ceremonies: TranscriptCeremony[]; tags: ReadonlyMap<string, string | undefined> },
  deps: { trail: CloudTrailPort },
): Promise<AuditResult> {
  const byRequest = new Map<string, { op: string; index: number }>();
  o.ceremonies.forEach((c, index) => {
    for (const [op, id] of c.requests) byRequest.set(id, { op, index });
  });
  const explained: AuditedEvent[] = [];
  const unexplained: AuditedEvent[] = [];
  const service: AuditedEvent[] = [];
  const refusedUses: AuditedEvent[] = [];
  const refusedChanges: AuditedEvent[] = [];
  const anchors: KeyAnchor[] = [];
  const seenRequests = new Set<string>();
  const seenEvents = new Set<string>();
  for (const arn of o.keyArns) {
    const events = (await deps.trail.lookupKeyEvents(arn, o.since, o.until)).filter((e) => !seenEvents.has(e.EventId));
    for (const e of events) seenEvents.add(e.EventId);
    // The anchor: the tag, or a newer head kms-byok's TagResource carried (refused on a key pending deletion).
    const tag = o.tags.get(arn);
    const tagIndex = tag === undefined ? -1 : o.ceremonies.findIndex((c) => c.sha256 === tag && c.keyArns.includes(arn));
    let anchorIndex = tagIndex;
    for (const e of events) anchorIndex = Math.max(anchorIndex, headTagEntry(e, arn, o.ceremonies) ?? -1);
    const status: KeyAnchor['status'] = tag !== undefined && tagIndex < 0 ? 'mismatched' : anchorIndex < 0 ? 'unanchored' : 'anchored';
    const anchor = anchorIndex >= 0 ? o.ceremonies[anchorIndex]! : undefined;
    anchors.push({ keyArn: arn, status, ...(anchor ? { head: anchor.sha256, entry: label(anchor) } : {}), ...(tag !== undefined ? { tag } : {}) });
    const trusted = status === 'anchored' ? anchorIndex : -1;
    const untrusted =
      status === 'anchored'
        ? `explained only by transcript entries after the head anchored on the key (${anchor!.sha256}, entry ${label(anchor!)})`
        : status === 'mismatched'
          ? `the key's ${TRANSCRIPT_TAG} tag ${tag} names no entry of this chain that names the key: no entry is trusted for it`
          : `the key carries no ${TRANSCRIPT_TAG} anchor naming an entry of this chain: no entry is trusted for it`;
    for (const e of events) {
      if (e.requestID) seenRequests.add(e.requestID);
      if (SERVICE_EVENTS.has(e.EventName)) service.push(eventOf(e, arn));
      else if (isRefusedUse(e)) refusedUses.push(eventOf(e, arn));
      else if (AUDITED_OPERATIONS.has(e.EventName)) {
        const own = headTagEntry(e, arn, o.ceremonies);
        if (own !== undefined && own <= trusted) {
          explained.push(eventOf(e, arn, { entry: `kms-byok's own ${TRANSCRIPT_TAG} tag, the head of ${label(o.ceremonies[own]!)}` }));
          continue;
        }
        if (e.errorCode) {
          refusedChanges.push(eventOf(e, arn));
          continue;
        }
        const known = e.requestID ? byRequest.get(e.requestID) : undefined;
        if (known && known.op === e.EventName && known.index <= trusted) explained.push(eventOf(e, arn, { entry: label(o.ceremonies[known.index]!) }));
        else if (known && known.op === e.EventName) unexplained.push(eventOf(e, arn, { note: untrusted }));
        else unexplained.push(eventOf(e, arn));
      }
    }
  }
  const audited = new Set(o.keyArns);
  const sinceText = o.since.toISOString();
  const missingFromTrail: AuditResult['missingFromTrail'] = [];
  for (const c of o.ceremonies) {
    if (c.time < sinceText.replace(/\.\d{3}Z$/, 'Z') || c.keyArns.length === 0 || !c.keyArns.every((a) => audited.has(a))) continue;
    for (const [op, id] of c.requests) {
      if (AUDITED_OPERATIONS.has(op) && !seenRequests.has(id)) missingFromTrail.push({ operation: op, requestId: id, entry: label(c) });
    }
  }
  const byTime = (a: AuditedEvent, b: AuditedEvent) => a.time.localeCompare(b.time);
  const unanchored = anchors.filter((a) => a.status !== 'anchored').length;
  return {
    since: o.since.toISOString(),
    until: o.until.toISOString(),
    keys: o.keyArns,
    entries: o.ceremonies.length,
    anchors,
    explained: explained.sort(byTime),
    unexplained: unexplained.sort(byTime),
    missingFromTrail,
    service: service.sort(byTime),
    refusedUses: refusedUses.sort(byTime),
    refusedChanges: refusedChanges.sort(byTime),
    needsAttention: unexplained.length + missingFromTrail.length + refusedUses.length + refusedChanges.length + unanchored > 0,
  };
}
