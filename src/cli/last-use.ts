/**
 * `status`'s last use per key (docs/audit.md, "Usage evidence"): GetKeyLastUsage only — CloudTrail's
 * 2 requests per second would make a status of many keys slow; `retire KEY` shows the full evidence.
 * A key whose last use cannot be read gets `missing` with why, never "no use".
 */
import { KmsByokError } from '../core/errors.js';
import type { StatusResult } from '../ceremony/status.js';
import type { KmsPort } from '../kms/port.js';

export async function addLastUse(result: StatusResult, kms: KmsPort): Promise<void> {
  for (const k of result.keys) {
    if (k.error || k.keyArn === '') continue;
    try {
      const u = await kms.getKeyLastUsage(k.keyArn);
      k.lastUse = {
        ...(u.Operation ? { operation: u.Operation } : {}),
        ...(u.Timestamp ? { time: u.Timestamp.toISOString() } : {}),
        ...(u.TrackingStartDate ? { trackingStartDate: u.TrackingStartDate.toISOString() } : {}),
      };
    } catch (e) {
      if (!(e instanceof KmsByokError) || e.code === 'ERR_CANCELLED') throw e;
      k.lastUse = { missing: `${e.code}: ${e.message}` };
    }
  }
}
