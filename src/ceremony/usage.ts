/**
 * Usage evidence of a key (docs/audit.md, "Usage evidence"): KMS's `GetKeyLastUsage` (per key) and
 * the key's CloudTrail events over a window (per material, by `additionalEventData.keyMaterialId`).
 * Pure over the KMS and CloudTrail ports.
 *
 * Contracts:
 * - Each source is either read or MISSING with its reason (unreachable, access denied, unsupported):
 *   a source that could not be read is never reported as "no use".
 * - A use is a successful cryptographic operation; a failed one (DisabledException, "is pending
 *   deletion") is an attempted use, reported apart — it is what the alarm of `kms-byok alarms` fires on.
 * - The CloudTrail window is at most 90 days (what LookupEvents keeps).
 */
import { KmsByokError } from '../core/errors.js';
import type { CloudTrailPort, TrailEvent } from '../kms/cloudtrail-port.js';
import type { KmsPort } from '../kms/port.js';

/** Operations that use a key (GetKeyLastUsage's `Operation` values). */
export const USE_OPERATIONS: ReadonlySet<string> = new Set([
  'Decrypt',
  'DeriveSharedSecret',
  'Encrypt',
  'GenerateDataKey',
  'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext',
  'GenerateDataKeyWithoutPlaintext',
  'GenerateMac',
  'ReEncrypt',
  'Sign',
  'Verify',
  'VerifyMac',
  'Encapsulate',
  'Decapsulate',
]);

/** CloudTrail's lookup window. */
export const TRAIL_MAX_MS = 90 * 86_400_000;

export interface Use {
  time: string;
  operation: string;
  principal?: string;
  eventId: string;
  requestId?: string;
  keyMaterialId?: string;
  /** Set for attempted uses. */
  errorCode?: string;
}

export type Missing = { status: 'missing'; reason: string };

export interface UsageEvidence {
  keyArn: string;
  lastUsage:
    | { status: 'ok'; operation?: string; time?: string; cloudTrailEventId?: string; kmsRequestId?: string; trackingStartDate?: string }
    | Missing;
  trail:
    | {
        status: 'ok';
        from: string;
        to: string;
        uses: Use[];
        attempted: Use[];
        /** Uses per KeyMaterialId (`unknown` when the event names none). */
        byMaterial: Record<string, { uses: number; last: string }>;
      }
    | Missing;
  /** Newest successful use either source shows; undefined when neither shows one. */
  lastUsedAt?: string;
  /** False when a source is missing: the evidence cannot show the key is quiet. */
  complete: boolean;
}

function reasonOf(e: unknown): string {
  return e instanceof KmsByokError ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
}

function useOf(e: TrailEvent): Use {
  return {
    time: e.EventTime.toISOString(),
    operation: e.EventName,
    ...(e.principal ?? e.Username ? { principal: (e.principal ?? e.Username)! } : {}),
    eventId: e.EventId,
    ...(e.requestID ? { requestId: e.requestID } : {}),
    ...(e.keyMaterialId ? { keyMaterialId: e.keyMaterialId } : {}),
    ...(e.errorCode ? { errorCode: e.errorCode } : {}),
  };
}

/**
 * The evidence for `keyArn` over the `windowMs` before `now` (capped at 90 days). `trail` absent:
 * CloudTrail is MISSING with that reason.
 */
export async function gatherUsage(keyArn: string, deps: { kms: KmsPort; trail: CloudTrailPort | undefined; now(): Date; trailMissingReason?: string }, windowMs: number): Promise<UsageEvidence> {
  const now = deps.now();
  let lastUsage: UsageEvidence['lastUsage'];
  try {
    const u = await deps.kms.getKeyLastUsage(keyArn);
    lastUsage = {
      status: 'ok',
      ...(u.Operation ? { operation: u.Operation } : {}),
      ...(u.Timestamp ? { time: u.Timestamp.toISOString() } : {}),
      ...(u.CloudTrailEventId ? { cloudTrailEventId: u.CloudTrailEventId } : {}),
      ...(u.KmsRequestId ? { kmsRequestId: u.KmsRequestId } : {}),
      ...(u.TrackingStartDate ? { trackingStartDate: u.TrackingStartDate.toISOString() } : {}),
    };
  } catch (e) {
    if (!(e instanceof KmsByokError) || e.code === 'ERR_CANCELLED') throw e;
    lastUsage = { status: 'missing', reason: `GetKeyLastUsage: ${reasonOf(e)}` };
  }
  let trail: UsageEvidence['trail'];
  const from = new Date(now.getTime() - Math.min(windowMs, TRAIL_MAX_MS));
  if (!deps.trail) {
    trail = { status: 'missing', reason: deps.trailMissingReason ?? 'no CloudTrail port' };
  } else {
    try {
      const events = await deps.trail.lookupKeyEvents(keyArn, from, now);
      const uses: Use[] = [];
      const attempted: Use[] = [];
      for (const e of events) {
        if (!USE_OPERATIONS.has(e.EventName)) continue;
        (e.errorCode ? attempted : uses).push(useOf(e));
      }
      const byMaterial: Record<string, { uses: number; last: string }> = {};
      for (const u of uses) {
        const id = u.keyMaterialId ?? 'unknown';
        const m = (byMaterial[id] ??= { uses: 0, last: u.time });
        m.uses++;
        if (u.time > m.last) m.last = u.time;
      }
      trail = { status: 'ok', from: from.toISOString(), to: now.toISOString(), uses, attempted, byMaterial };
    } catch (e) {
      if (!(e instanceof KmsByokError) || e.code === 'ERR_CANCELLED') throw e;
      trail = { status: 'missing', reason: reasonOf(e) };
    }
  }
  const times = [lastUsage.status === 'ok' ? lastUsage.time : undefined, ...(trail.status === 'ok' ? trail.uses.map((u) => u.time) : [])].filter((t): t is string => t !== undefined);
  const lastUsedAt = times.sort().at(-1);
  return { keyArn, lastUsage, trail, ...(lastUsedAt ? { lastUsedAt } : {}), complete: lastUsage.status === 'ok' && trail.status === 'ok' };
}

/** One line per fact, for humans. */
export function describeUsage(u: UsageEvidence): string[] {
  const lines: string[] = [];
  if (u.lastUsage.status === 'missing') lines.push(`last use (GetKeyLastUsage): MISSING — ${u.lastUsage.reason}`);
  else if (u.lastUsage.time) lines.push(`last use (GetKeyLastUsage): ${u.lastUsage.operation ?? '?'} at ${u.lastUsage.time}${u.lastUsage.kmsRequestId ? ` (request ${u.lastUsage.kmsRequestId})` : ''}`);
  else lines.push(`last use (GetKeyLastUsage): none since tracking started ${u.lastUsage.trackingStartDate ?? '(date not given)'}`);
  if (u.trail.status === 'missing') {
    lines.push(`CloudTrail: MISSING — ${u.trail.reason} (this is not evidence of no use)`);
  } else {
    lines.push(`CloudTrail ${u.trail.from} … ${u.trail.to}: ${u.trail.uses.length} use(s), ${u.trail.attempted.length} refused attempt(s)`);
    for (const x of u.trail.uses.slice(0, 10)) lines.push(`  ${x.time} ${x.operation} by ${x.principal ?? '?'}${x.keyMaterialId ? ` (material ${x.keyMaterialId.slice(0, 12)}…)` : ''}`);
    if (u.trail.uses.length > 10) lines.push(`  … and ${u.trail.uses.length - 10} more`);
    for (const x of u.trail.attempted.slice(0, 10)) lines.push(`  ${x.time} ${x.operation} by ${x.principal ?? '?'} REFUSED (${x.errorCode})`);
  }
  return lines;
}
