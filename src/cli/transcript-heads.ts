/**
 * The transcript head each key carries (`kms-byok:transcript-head`, docs/lifecycle.md "Ceremony
 * transcript"), read in the key's own Region: what `transcript verify --against-kms` and `audit` hold
 * a transcript to. A key KMS no longer has (deleted) carries none; any other failure propagates.
 */
import { KmsByokError } from '../core/errors.js';
import type { KmsPort } from '../kms/port.js';
import { TRANSCRIPT_TAG } from '../records/transcript.js';

export async function transcriptHeadTags(kms: KmsPort, keyArns: Iterable<string>): Promise<Map<string, string | undefined>> {
  const tags = new Map<string, string | undefined>();
  for (const arn of keyArns) {
    const region = arn.split(':')[3]!;
    const regional = region === kms.region ? kms : await kms.forRegion(region);
    const found = await regional.listResourceTags(arn).catch((e: unknown) => {
      if (e instanceof KmsByokError && e.code === 'ERR_KMS_NOT_FOUND') return [];
      throw e;
    });
    tags.set(arn, found.find((t) => t.TagKey === TRANSCRIPT_TAG)?.TagValue);
  }
  return tags;
}
