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
 */
import { KmsByokError } from '../core/errors.js';
import type { CloudTrailPort, TrailEvent } from '../kms/cloudtrail-port.js';
import { verifyTranscript } from '../records/transcript.js';
import { USE_OPERATIONS } from './usage.js';

/** The management operations audit reconciles (the list, AWS's names). */
export const AUDITED_OPERATIONS: ReadonlySet<string> = new Set([
  'CreateKey',
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
  keyArns: string[];
  /** `[operation, requestId]` of each KMS request it lists. */
  requests: [string, string][];
}

const MARKER = /<!-- kms-byok-entry prev=(?:genesis|[0-9a-f]{64}) sha256=[0-9a-f]{64} -->\n/g;
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
    out.push({ time: heading?.[1] ?? '', ceremony: heading?.[2] ?? '', keyArns: [...new Set(body.match(KEY_ARN) ?? [])], requests });
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
}

export interface AuditResult {
  since: string;
  until: string;
  keys: string[];
  entries: number;
  explained: AuditedEvent[];
  unexplained: AuditedEvent[];
  missingFromTrail: { operation: string; requestId: string; entry: string }[];
  service: AuditedEvent[];
  refusedUses: AuditedEvent[];
  needsAttention: boolean;
}

function eventOf(e: TrailEvent, keyArn: string, entry?: string): AuditedEvent {
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
    ...(entry ? { entry } : {}),
  };
}

/** A refused use the pending-deletion/disabled alarm counts. */
function isRefusedUse(e: TrailEvent): boolean {
  return USE_OPERATIONS.has(e.EventName) && (e.errorCode === 'DisabledException' || (e.errorCode === 'KMSInvalidStateException' && /pending deletion/i.test(e.errorMessage ?? '')));
}

export async function runAudit(o: { keyArns: string[]; since: Date; until: Date; ceremonies: TranscriptCeremony[] }, deps: { trail: CloudTrailPort }): Promise<AuditResult> {
  const byRequest = new Map<string, { op: string; entry: string }>();
  for (const c of o.ceremonies) for (const [op, id] of c.requests) byRequest.set(id, { op, entry: `${c.time} ${c.ceremony}` });
  const explained: AuditedEvent[] = [];
  const unexplained: AuditedEvent[] = [];
  const service: AuditedEvent[] = [];
  const refusedUses: AuditedEvent[] = [];
  const seenRequests = new Set<string>();
  const seenEvents = new Set<string>();
  for (const arn of o.keyArns) {
    for (const e of await deps.trail.lookupKeyEvents(arn, o.since, o.until)) {
      if (seenEvents.has(e.EventId)) continue;
      seenEvents.add(e.EventId);
      if (e.requestID) seenRequests.add(e.requestID);
      if (SERVICE_EVENTS.has(e.EventName)) service.push(eventOf(e, arn));
      else if (isRefusedUse(e)) refusedUses.push(eventOf(e, arn));
      else if (AUDITED_OPERATIONS.has(e.EventName) && !e.errorCode) {
        const known = e.requestID ? byRequest.get(e.requestID) : undefined;
        if (known && known.op === e.EventName) explained.push(eventOf(e, arn, known.entry));
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
      if (AUDITED_OPERATIONS.has(op) && !seenRequests.has(id)) missingFromTrail.push({ operation: op, requestId: id, entry: `${c.time} ${c.ceremony}` });
    }
  }
  const byTime = (a: AuditedEvent, b: AuditedEvent) => a.time.localeCompare(b.time);
  return {
    since: o.since.toISOString(),
    until: o.until.toISOString(),
    keys: o.keyArns,
    entries: o.ceremonies.length,
    explained: explained.sort(byTime),
    unexplained: unexplained.sort(byTime),
    missingFromTrail,
    service: service.sort(byTime),
    refusedUses: refusedUses.sort(byTime),
    needsAttention: unexplained.length + missingFromTrail.length + refusedUses.length > 0,
  };
}
