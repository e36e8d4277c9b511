// Module resolve hook for the offline step (see airgap-offline-hook.mjs).
import { appendFileSync } from 'node:fs';

const REFUSED = ['@aws-sdk', '/kms/aws.js', '/cli/target.js'];

export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(process.env.KMS_BYOK_TEST_RESOLVED, `${r.url}\n`);
  if (specifier.startsWith('@aws-sdk/') || REFUSED.some((s) => r.url.includes(s))) {
    throw new Error(`BLOCKED: the offline step imported ${r.url}`);
  }
  return r;
}
