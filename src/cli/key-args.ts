/**
 * AWS habits for commands that take KEY positionals (README, "AWS habits"):
 *   - `--key-id KEY` is the same as the positional KEY, as every aws kms command spells it; given
 *     both, they must name the same key(s), else exit 2;
 *   - a key ARN names its Region: with no --region the ARN's Region is used (so a key in eu-west-1
 *     is looked up in eu-west-1, not in the default Region), and a --region that disagrees with it is
 *     refused (exit 2, before any request). Keys given as ARNs of different Regions are refused too
 *     (one command talks to one Region; a fleet plan spans several).
 * When nothing else points at AWS (no endpoint, profile or Region in flags or environment) the ARN's
 * Region does not turn a rehearsal into an AWS call: the embedded emulator runs in that Region.
 */
import { KmsByokError } from '../core/errors.js';
import { parseKeyArn } from '../core/aws-ids.js';
import type { Parsed } from './args.js';
import type { Io } from './io.js';
import { pointsAtAws } from './target-env.js';

export function applyKeyArguments(p: Parsed, command: string, env: Io['env']): void {
  const flagged = p.values['key-id'];
  const byFlag = Array.isArray(flagged) ? flagged : typeof flagged === 'string' ? [flagged] : [];
  if (byFlag.length > 0) {
    if (p.positionals.length === 0) p.positionals = [...byFlag];
    else if (!sameKeys(p.positionals, byFlag)) {
      throw new KmsByokError('ERR_USAGE', `KEY ${p.positionals.join(' ')} and --key-id ${byFlag.join(' --key-id ')} name different keys`, {
        hint: `give the key once: kms-byok ${command} --key-id KEY (or kms-byok ${command} KEY)`,
      });
    }
  }

  const regions = [...new Set(p.positionals.map((k) => parseKeyArn(k)?.region).filter((r): r is string => r !== undefined))];
  if (regions.length === 0) return;
  if (regions.length > 1) {
    throw new KmsByokError('ERR_USAGE', `the key ARNs are in several Regions (${regions.join(', ')})`, {
      hint: `run kms-byok ${command} once per Region, or list the keys in a plan file (--plan, docs/fleet.md)`,
    });
  }
  const arnRegion = regions[0]!;
  const region = typeof p.values.region === 'string' ? p.values.region : undefined;
  if (region !== undefined) {
    if (region !== arnRegion) {
      throw new KmsByokError('ERR_USAGE', `--region ${region} disagrees with the key ARN, which is in ${arnRegion}`, {
        hint: `drop --region (the ARN names its Region) or give --region ${arnRegion}`,
      });
    }
    return;
  }
  if (!pointsAtAws(p, env)) p.values.emulator = true;
  p.values.region = arnRegion;
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((k, i) => k === b[i]);
}
