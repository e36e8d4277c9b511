/**
 * The CloudTrail port over `@aws-sdk/client-cloudtrail` (the only importer of that SDK). Endpoint and
 * credentials follow the KMS target (docs/audit.md): the emulator's endpoint when the target is one,
 * else AWS_ENDPOINT_URL_CLOUDTRAIL or CloudTrail's default endpoint of the Region.
 *
 * Contract: LookupEvents is paced to at most 2 requests per second (CloudTrail's quota per account and
 * Region); throttling is retried by the SDK; any failure — unreachable, access denied, throttled past
 * the retries, a malformed answer — is `ERR_TRAIL_UNAVAILABLE`, so callers report MISSING evidence.
 * Paging stops on a repeated NextToken or after {@link MAX_TRAIL_PAGES} pages (also ERR_TRAIL_UNAVAILABLE).
 */
import { CloudTrailClient, LookupEventsCommand, type CloudTrailClientConfig } from '@aws-sdk/client-cloudtrail';
import { parseCloudTrailEvent, trailUnavailable, type CloudTrailPort, type TrailEvent } from './cloudtrail-port.js';

export interface AwsCloudTrailOptions {
  region: string;
  profile?: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Milliseconds between LookupEvents requests (default 500: CloudTrail's 2/s). */
  paceMs?: number;
}

/** 200 pages of 50: 10,000 events of one key. */
export const MAX_TRAIL_PAGES = 200;

export function createAwsCloudTrail(o: AwsCloudTrailOptions): CloudTrailPort & { close(): void } {
  const config: CloudTrailClientConfig = {
    region: o.region,
    maxAttempts: 5,
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000, throwOnRequestTimeout: true },
  };
  if (o.profile) config.profile = o.profile;
  if (o.endpoint) config.endpoint = o.endpoint;
  if (o.credentials) config.credentials = o.credentials;
  const client = new CloudTrailClient(config);
  const pace = o.paceMs ?? 500;
  let last = 0;
  return {
    async lookupKeyEvents(key, start, end) {
      const out: TrailEvent[] = [];
      const seen = new Set<string>();
      let token: string | undefined;
      for (let page = 1; ; page++) {
        const wait = last + pace - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        last = Date.now();
        let answer;
        try {
          answer = await client.send(
            new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'ResourceName', AttributeValue: key }], StartTime: start, EndTime: end, MaxResults: 50, ...(token ? { NextToken: token } : {}) }),
          );
        } catch (e) {
          const name = (e as { name?: string }).name ?? 'Error';
          const message = ((e as { message?: string }).message ?? String(e)).split('\n')[0];
          throw trailUnavailable(
            `${name}: ${message}`,
            /AccessDenied|NotAuthorized|UnrecognizedClient|InvalidClientTokenId|Credentials/i.test(name)
              ? 'the caller lacks cloudtrail:LookupEvents (or its credentials are not valid) in this account and Region'
              : undefined,
          );
        }
        for (const e of answer.Events ?? []) {
          if (!e.EventId || !e.EventName || !(e.EventTime instanceof Date)) throw trailUnavailable('LookupEvents answered an event without EventId, EventName or EventTime');
          out.push({
            EventId: e.EventId,
            EventName: e.EventName,
            EventTime: e.EventTime,
            ...(e.Username ? { Username: e.Username } : {}),
            ...(e.AccessKeyId ? { AccessKeyId: e.AccessKeyId } : {}),
            Resources: (e.Resources ?? []).map((r) => r.ResourceName ?? '').filter((r) => r !== ''),
            ...parseCloudTrailEvent(e.CloudTrailEvent),
          });
        }
        token = answer.NextToken;
        if (!token) return out;
        if (seen.has(token) || page >= MAX_TRAIL_PAGES) throw trailUnavailable(`LookupEvents paging did not end (${page} pages)`);
        seen.add(token);
      }
    },
    close: () => client.destroy(),
  };
}
