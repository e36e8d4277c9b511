/**
 * The CloudTrail port of a command, following its KMS target (docs/audit.md, "Where CloudTrail is
 * read"): the emulator's endpoint (loopback: embedded or `kms-byok emulator`) with its dummy
 * credentials; otherwise AWS CloudTrail in the KMS port's Region with the same profile, at
 * AWS_ENDPOINT_URL_CLOUDTRAIL when set (a non-loopback --endpoint-url is a KMS endpoint, never CloudTrail's).
 */
import { isLoopbackUrl } from '../core/endpoints.js';
import type { CloudTrailPort } from '../kms/cloudtrail-port.js';
import { str, type Parsed } from './args.js';
import type { Io } from './io.js';
import { DUMMY_CREDENTIALS, type Target } from './target.js';

export async function openCloudTrail(p: Parsed, io: Io, target: Target): Promise<CloudTrailPort & { close(): void }> {
  const { createAwsCloudTrail } = await import('../kms/aws-cloudtrail.js');
  const loopback = target.endpoint !== undefined && isLoopbackUrl(target.endpoint);
  const endpoint = loopback ? target.endpoint : io.env.AWS_ENDPOINT_URL_CLOUDTRAIL;
  const profile = str(p, 'profile');
  return createAwsCloudTrail({
    region: target.kms.region,
    ...(endpoint ? { endpoint } : {}),
    ...(profile ? { profile } : {}),
    ...(loopback && target.rehearsal ? { credentials: DUMMY_CREDENTIALS } : {}),
  });
}
