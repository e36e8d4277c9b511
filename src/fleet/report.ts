/**
 * `kms-byok fleet report` (docs/fleet.md, "Shards"): merges the run states of a plan's shards into one
 * result per key, and says what keeps the merge from covering the plan exactly once — a shard that has
 * not run, a shard that ran another plan (the plan's SHA-256 in each state's header), or two shards
 * that served the same quota domain or key. Reads only the run-state files: no KMS request.
 */
import { readdir } from 'node:fs/promises';
import { basename } from 'node:path';
import { KmsByokError, asLocalInputError } from '../core/errors.js';
import { openAppendOnly, readAllFrom } from '../records/safe-files.js';
import type { PlanEntry, Plan } from './plan.js';
import { runStatePath, type FleetCommand, type RunHeader, type RunLine } from './run.js';
import { accountOf, assignDomains, quotaDomainOf, type Shard } from './shard.js';

export interface ShardState {
  shard: number;
  path: string;
  /** False: no state file (the shard has not run here). */
  ran: boolean;
  planSha256?: string;
  startedAt?: string;
  /** The quota domains the shard's header says it served. */
  domains: string[];
  /** Keys with a result line. */
  keys: number;
}

export interface MergedKey {
  index: number;
  key: string;
  account: string;
  region: string;
  /** The shard the plan assigns the key's quota domain to. */
  shard: number;
  /** The last result recorded for the key, or not-run. */
  status: 'ok' | 'attention' | 'failed' | 'not-run';
  keyId?: string;
  action?: string;
  validTo?: string;
  code?: string;
}

export interface MergedReport {
  command: FleetCommand;
  plan: string;
  planSha256: string;
  shards: number;
  summary: { total: number; ok: number; attention: number; failed: number; notRun: number };
  /** Why the merge is incomplete or not to be trusted; empty when every shard ran this plan once. */
  problems: string[];
  states: ShardState[];
  keys: MergedKey[];
}

async function readState(path: string): Promise<string | undefined> {
  let h;
  try {
    h = await openAppendOnly(path, 'a fleet run state', { create: false });
  } catch (e) {
    if (e instanceof KmsByokError) throw asLocalInputError(e); // a link or another user's file
    return undefined;
  }
  try {
    return (await readAllFrom(h)).toString('utf8');
  } finally {
    await h.close();
  }
}

function parseState(text: string): { header?: RunHeader; lines: RunLine[] } {
  let header: RunHeader | undefined;
  const lines: RunLine[] = [];
  for (const raw of text.split('\n')) {
    if (raw.trim() === '') continue;
    try {
      const x = JSON.parse(raw) as RunHeader | RunLine;
      if ('format' in x) header = x;
      else if (typeof x.id === 'string') lines.push(x);
    } catch {
      /* a line cut short by a crash: that key counts as not run */
    }
  }
  return { ...(header ? { header } : {}), lines };
}

/** The shard counts of the sharded state files of `command` over the plan found in `dir`. */
export async function shardCountsIn(dir: string, planPath: string, command: FleetCommand): Promise<number[]> {
  const prefix = `.${basename(planPath)}.${command}.shard-`;
  const counts = new Set<number>();
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  for (const n of names) {
    if (!n.startsWith(prefix)) continue;
    const m = /^(\d+)-of-(\d+)\.run\.jsonl$/.exec(n.slice(prefix.length));
    if (m) counts.add(Number(m[2]));
  }
  return [...counts].sort((a, b) => a - b);
}

/** Merges the run states of shards 0…count-1 of `command` over `plan` kept in `stateDir`. */
export async function mergeShardStates(planPath: string, plan: Plan, sha256: string, command: FleetCommand, count: number, stateDir: string): Promise<MergedReport> {
  const assignment = new Map(assignDomains(plan.entries, count).map((a) => [a.domain, a.shard]));
  const byId = new Map<string, PlanEntry>(plan.entries.map((e) => [e.id, e]));
  const problems: string[] = [];
  const states: ShardState[] = [];
  const results = new Map<string, { line: RunLine; shard: number }>();
  const servedBy = new Map<string, number>();
  for (let k = 0; k < count; k++) {
    const shard: Shard = { index: k, count };
    const path = runStatePath(planPath, command, { shard, stateDir });
    const text = await readState(path);
    if (text === undefined) {
      problems.push(`shard ${k}/${count} has not run: no state file ${path}`);
      states.push({ shard: k, path, ran: false, domains: [], keys: 0 });
      continue;
    }
    const { header, lines } = parseState(text);
    const state: ShardState = { shard: k, path, ran: true, domains: header?.shard?.domains ?? [], keys: 0, ...(header ? { planSha256: header.planSha256, startedAt: header.startedAt } : {}) };
    states.push(state);
    if (!header || header.command !== command) {
      problems.push(`shard ${k}/${count}: ${path} is not a ${command} run state`);
      continue;
    }
    if (header.planSha256 !== sha256) {
      problems.push(`shard ${k}/${count} ran a different plan (SHA-256 ${header.planSha256}, this plan is ${sha256}): its results are not counted`);
      continue;
    }
    if (header.shard?.index !== k || header.shard?.count !== count) {
      problems.push(`shard ${k}/${count}: the state in ${path} says it is shard ${header.shard ? `${header.shard.index}/${header.shard.count}` : '(none)'}`);
      continue;
    }
    for (const d of header.shard.domains) {
      const other = servedBy.get(d);
      if (other !== undefined) problems.push(`quota domain ${d} was served by shards ${other}/${count} and ${k}/${count}: the states overlap`);
      else servedBy.set(d, k);
      if (assignment.get(d) !== k) problems.push(`shard ${k}/${count} served quota domain ${d}, which this plan assigns to shard ${assignment.get(d) ?? '(none)'}`);
    }
    const mine = new Set<string>();
    for (const line of lines) {
      if (!byId.has(line.id)) {
        problems.push(`shard ${k}/${count} recorded key ${line.id}, which is not in the plan`);
        continue;
      }
      const prev = results.get(line.id);
      if (prev !== undefined && prev.shard !== k) {
        problems.push(`key ${line.id} has results from shards ${prev.shard}/${count} and ${k}/${count}: the states overlap`);
        continue;
      }
      mine.add(line.id);
      results.set(line.id, { line, shard: k }); // a later line (a --resume) replaces an earlier one
    }
    state.keys = mine.size;
  }
  const keys: MergedKey[] = plan.entries.map((e) => {
    const r = results.get(e.id)?.line;
    const status: MergedKey['status'] = r === undefined ? 'not-run' : r.status === 'ok' || r.status === 'attention' || r.status === 'failed' ? r.status : 'not-run';
    return {
      index: e.index,
      key: e.key,
      account: accountOf(e),
      region: e.region,
      shard: assignment.get(quotaDomainOf(e))!,
      status,
      ...(r?.keyId ? { keyId: r.keyId } : {}),
      ...(r?.action ? { action: r.action } : {}),
      ...(r?.validTo ? { validTo: r.validTo } : {}),
      ...(r?.code ? { code: r.code } : {}),
    };
  });
  const n = (s: MergedKey['status']) => keys.filter((x) => x.status === s).length;
  return {
    command,
    plan: planPath,
    planSha256: sha256,
    shards: count,
    summary: { total: keys.length, ok: n('ok'), attention: n('attention'), failed: n('failed'), notRun: n('not-run') },
    problems,
    states,
    keys,
  };
}
