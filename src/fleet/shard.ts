/**
 * Sharding a fleet plan by quota domain (docs/fleet.md, "Shards"). Pure.
 *
 * KMS request quotas are per account and Region: a quota domain is `(account, Region)`. `--shard K/N`
 * runs the K-th of N disjoint parts of a plan, 0-based (K = 0 … N-1, as Kubernetes numbers an Indexed
 * Job's completions), and every quota domain belongs to exactly one shard, so no two workers share a
 * quota.
 *
 * The assignment is a function of the plan alone (stable: every worker computes the same one):
 * domains sorted by key count, largest first (ties by name), each given to the shard with the fewest
 * keys so far (ties: the lowest K) — the greedy "longest processing time" rule, which keeps the
 * largest shard within 4/3 of the best possible balance.
 */
import { KmsByokError } from '../core/errors.js';
import type { PlanEntry } from './plan.js';

export interface Shard {
  /** 0-based: 0 … count-1. */
  index: number;
  count: number;
}

/** The most shards a plan may be cut into (far above any quota-domain count people run). */
export const MAX_SHARDS = 1000;

/**
 * Parses `K/N` (0 ≤ K < N ≤ 1000). `flag` names the flag in the message.
 * @throws KmsByokError ERR_INVALID_ARGUMENT (exit 2)
 */
export function parseShard(text: string, flag = '--shard'): Shard {
  const m = /^(\d{1,4})\/(\d{1,4})$/.exec(text.trim());
  const bad = (why: string) =>
    new KmsByokError('ERR_INVALID_ARGUMENT', `invalid ${flag} "${text}": ${why}`, {
      hint: 'give K/N with 0 ≤ K < N: --shard 0/4, 1/4, 2/4 and 3/4 together run the whole plan (K is 0-based, as JOB_COMPLETION_INDEX)',
    });
  if (!m) throw bad('expected K/N, e.g. 0/4');
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count === 0) throw bad('N must be at least 1');
  if (count > MAX_SHARDS) throw bad(`N must be at most ${MAX_SHARDS}`);
  if (index >= count) throw bad(`K must be less than N (shards are numbered 0 to ${count - 1})`);
  return { index, count };
}

export function shardLabel(s: Shard): string {
  return `${s.index}/${s.count}`;
}

/**
 * The account of an entry for quota purposes: its `account` field when the plan names one (an account
 * id, from a role or discovery), else its profile (one profile is one set of credentials, so one
 * account), else '' (the default credentials).
 */
export function accountOf(e: PlanEntry): string {
  const x = e as PlanEntry & { account?: string };
  return x.account ?? e.profile ?? '';
}

/** `account/Region`, the name of an entry's quota domain. */
export function quotaDomainOf(e: PlanEntry): string {
  return `${accountOf(e)}/${e.region}`;
}

export interface DomainAssignment {
  domain: string;
  account: string;
  region: string;
  keys: number;
  shard: number;
}

/** Every quota domain of the plan with its key count and shard, in assignment order (see the module comment). */
export function assignDomains(entries: readonly PlanEntry[], count: number): DomainAssignment[] {
  const domains = new Map<string, { account: string; region: string; keys: number }>();
  for (const e of entries) {
    const d = quotaDomainOf(e);
    const x = domains.get(d) ?? { account: accountOf(e), region: e.region, keys: 0 };
    x.keys++;
    domains.set(d, x);
  }
  const order = [...domains].sort(([a, x], [b, y]) => y.keys - x.keys || (a < b ? -1 : a > b ? 1 : 0));
  const load = new Array<number>(count).fill(0);
  return order.map(([domain, x]) => {
    let shard = 0;
    for (let i = 1; i < count; i++) if (load[i]! < load[shard]!) shard = i;
    load[shard]! += x.keys;
    return { domain, ...x, shard };
  });
}

/** The entries of shard `s` (plan order kept) and the domains it serves. */
export function entriesOfShard(entries: readonly PlanEntry[], s: Shard): { entries: PlanEntry[]; domains: DomainAssignment[] } {
  const assignment = assignDomains(entries, s.count);
  const mine = new Set(assignment.filter((a) => a.shard === s.index).map((a) => a.domain));
  return { entries: entries.filter((e) => mine.has(quotaDomainOf(e))), domains: assignment.filter((a) => a.shard === s.index) };
}
