/**
 * Whether flags or environment point at AWS (or a custom endpoint) — the rule of target selection
 * (target.ts, docs/architecture.md "Target selection"). On its own, free of imports, so that
 * commands that must never load target selection (`wrap`, offline) can still parse key arguments.
 */
import { str, type Parsed } from './args.js';
import type { Io } from './io.js';

export function pointsAtAws(p: Parsed, env: Io['env']): boolean {
  return Boolean(
    str(p, 'endpoint-url') || env.AWS_ENDPOINT_URL_KMS || str(p, 'profile') || str(p, 'region') ||
      env.AWS_PROFILE || env.AWS_REGION || env.AWS_DEFAULT_REGION,
  );
}
