/**
 * The CloudTrail port: the one CloudTrail call kms-byok makes (`LookupEvents` for a key), in AWS's
 * words, plus the pure parsing of a CloudTrail record. `kms/aws-cloudtrail.ts` adapts the SDK to it.
 * A port that cannot answer (unreachable, access denied, throttled past its retries) throws a
 * KmsByokError `ERR_TRAIL_UNAVAILABLE`: the evidence is then MISSING, never "no use".
 */
import { KmsByokError } from '../core/errors.js';

/** One KMS event of CloudTrail, as kms-byok reads it. */
export interface TrailEvent {
  EventId: string;
  EventName: string;
  EventTime: Date;
  /** LookupEvents' Username (an IAM user or role session name; `kms.amazonaws.com` for service events). */
  Username?: string;
  AccessKeyId?: string;
  /** Key ARNs the event names. */
  Resources: string[];
  /** From the CloudTrail record (`CloudTrailEvent`): */
  requestID?: string;
  /** userIdentity.arn, else `invokedBy` (service events), else Username. */
  principal?: string;
  errorCode?: string;
  errorMessage?: string;
  /** additionalEventData.keyMaterialId, else serviceEventDetails.keyMaterialId, else responseElements.keyMaterialId. */
  keyMaterialId?: string;
  eventType?: string;
  /** requestParameters.tags of a TagResource (`tagKey`/`tagValue`, any case of the field names). */
  tags?: { key: string; value: string }[];
  /** requestParameters.tagKeys of an UntagResource. */
  tagKeys?: string[];
}

export interface CloudTrailPort {
  /**
   * Every event of `key` (a key ARN or id: LookupAttribute ResourceName) from `start` to `end`,
   * newest first, all pages (at most 50 events each). CloudTrail keeps 90 days of management events.
   */
  lookupKeyEvents(key: string, start: Date, end: Date): Promise<TrailEvent[]>;
}

/** The error of a trail that could not be read (the hint names what is needed). */
export function trailUnavailable(why: string, hint = 'kms-byok needs cloudtrail:LookupEvents in the key\'s account and Region'): KmsByokError {
  return new KmsByokError('ERR_TRAIL_UNAVAILABLE', `CloudTrail could not be read: ${why}`, { hint });
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** Reads the fields kms-byok uses from a CloudTrail record's JSON text; a record that is not JSON adds nothing. */
export function parseCloudTrailEvent(text: string | undefined): Pick<TrailEvent, 'requestID' | 'principal' | 'errorCode' | 'errorMessage' | 'keyMaterialId' | 'eventType' | 'tags' | 'tagKeys'> {
  if (!text) return {};
  let o: Record<string, unknown>;
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null) return {};
    o = v as Record<string, unknown>;
  } catch {
    return {};
  }
  const obj = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {});
  const who = obj(o.userIdentity);
  const out: ReturnType<typeof parseCloudTrailEvent> = {};
  const set = (k: 'requestID' | 'principal' | 'errorCode' | 'errorMessage' | 'keyMaterialId' | 'eventType', v: string | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  set('requestID', str(o.requestID));
  set('principal', str(who.arn) ?? str(who.invokedBy));
  set('errorCode', str(o.errorCode));
  set('errorMessage', str(o.errorMessage));
  set('keyMaterialId', str(obj(o.additionalEventData).keyMaterialId) ?? str(obj(o.serviceEventDetails).keyMaterialId) ?? str(obj(o.responseElements).keyMaterialId));
  set('eventType', str(o.eventType));
  const params = obj(o.requestParameters);
  if (Array.isArray(params.tags)) {
    out.tags = params.tags.map((t) => {
      const f = Object.fromEntries(Object.entries(obj(t)).map(([k, v]) => [k.toLowerCase(), v]));
      return { key: typeof f.tagkey === 'string' ? f.tagkey : '', value: typeof f.tagvalue === 'string' ? f.tagvalue : '' };
    });
  }
  if (Array.isArray(params.tagKeys)) out.tagKeys = params.tagKeys.filter((k): k is string => typeof k === 'string');
  return out;
}
