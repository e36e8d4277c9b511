/**
 * Fleet runs (docs/fleet.md): `reimport --plan`, `restore --plan` and `status --plan` run every entry of a
 * plan file (src/fleet/plan.ts) concurrently, each (account, Region) in parallel with at
 * most `--concurrency` keys in flight, every KMS request paced by the client-side limiter
 * (src/fleet/limiter.ts) at the documented quotas and retried on throttling.
 *
 * One failing key does not stop the others. The run ends with one result row per key (a table, or a
 * JSON report with `--json`) and exit 1 when any failed. A run-state file beside the plan
 * (`<plan>.run.jsonl`: one line per finished key, no secrets) lets `--resume` skip what finished.
 * Progress goes to stderr: a redrawn bar on a terminal, plain periodic lines otherwise.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ExitCode, KmsByokError, asLocalInputError } from '../core/errors.js';
import type { KmsPort } from '../kms/port.js';
import { parsePlan, planProblems, requireForCommand, type Plan, type PlanEntry } from './plan.js';
import { accountOf, assignDomains, entriesOfShard, parseShard, shardLabel, type Shard } from './shard.js';
import { RateLimiter, limitKms, resolveRates, runPool, type LimiterClock } from './limiter.js';
import { bool, str, strs, type Parsed } from '../cli/args.js';
import { say, type Io } from '../cli/io.js';
import { fleetDocument, printDocument } from '../cli/documents.js';
import { appendTranscript, preflightTranscript, transcriptFailure } from '../records/transcript-file.js';
import { assertDirectorySafe, openAppendOnly, readAllFrom, replaceAtomic, withFileLock } from '../records/safe-files.js';
import { operatorName } from '../cli/context.js';
import { openRegionalTargets } from '../cli/target.js';

export type FleetCommand = 'reimport' | 'restore' | 'status';

/**
 * How long keys in flight at the first signal may go on (docs/fleet.md, "Stopping a run"): after it,
 * their KMS ports stop as a single command's do (no new call; a mutating call in flight finishes).
 */
export const FLEET_GRACE_MS = 30_000;

/**
 * Flags a plan replaces, by the plan field that says the same per key (docs/fleet.md, "The plan").
 * With `--plan` they are refused (ERR_USAGE), never silently ignored.
 */
const PLAN_FIELD_OF: Readonly<Record<string, string>> = {
  'key-id': 'key',
  region: 'region',
  'expires-in': 'expiresIn',
  'valid-to': 'validTo',
  'no-expiry': 'noExpiry',
  identity: 'identity',
  'passphrase-file': 'passphraseFile',
  'escrow-dir': 'escrowDir',
  escrow: 'escrow',
  'warn-days': 'warnDays',
  'max-age': 'maxAge',
};

/** What a `--plan` run reads from the command line; every other flag given is refused. */
const PLAN_RUN_FLAGS: Readonly<Record<FleetCommand, readonly string[]>> = {
  reimport: ['before'],
  restore: [],
  status: ['format', 'out'],
};
const COMMON_PLAN_FLAGS = ['plan', 'concurrency', 'rate', 'rate-scale', 'progress-interval', 'resume', 'transcript', 'json', 'help', 'profile', 'endpoint-url', 'emulator', 'emulator-state', 'shard', 'state-dir', 'dry-run'];

/**
 * Refuses (ERR_USAGE, before any KMS request or write) a flag a `--plan` run would override or not
 * use: a flag the plan replaces names the plan field to set instead.
 */
export function refusePlanConflicts(p: Parsed, command: FleetCommand): void {
  for (const [name, value] of Object.entries(p.values)) {
    if (value === undefined || value === false || COMMON_PLAN_FLAGS.includes(name) || PLAN_RUN_FLAGS[command].includes(name)) continue;
    const field = PLAN_FIELD_OF[name];
    if (field !== undefined) {
      throw new KmsByokError('ERR_USAGE', `--${name} cannot be combined with --plan: the plan sets it per key`, {
        hint: `drop --${name} and set "${field}" in the plan's "defaults" or in each entry (docs/fleet.md)`,
      });
    }
    throw new KmsByokError('ERR_USAGE', `--${name} does not apply to ${command} --plan`, { hint: `drop --${name}, or run ${command} without --plan for one key (docs/fleet.md)` });
  }
}

/** One key's line in the report. */
export interface FleetRow {
  index: number;
  key: string;
  /** The alias the plan named the key by (`alias/NAME`, or an alias ARN's name), for tables and metrics. */
  alias?: string;
  region: string;
  profile?: string;
  /** The account the plan names for the key, and the role that reached it (docs/fleet.md "Accounts and roles"). */
  account?: string;
  roleArn?: string;
  /**
   * ok, failed, attention (status), skipped (finished in an earlier run, with --resume), or stopped
   * (not started: the run was stopped by a signal; `--resume` runs it).
   */
  status: 'ok' | 'failed' | 'attention' | 'skipped' | 'stopped';
  /** What reimport/restore did (their rows only). */
  action?: string;
  /** The key's state in KMS (status rows only). */
  keyState?: string;
  /** What needs action (status rows only). */
  attention?: string[];
  keyId?: string;
  validTo?: string;
  detail?: string;
  code?: string;
  message?: string;
  hint?: string;
}

export interface FleetReport {
  command: FleetCommand;
  plan: string;
  resumed: boolean;
  /** With --shard: which part of the plan this run served (docs/fleet.md, "Shards"). */
  shard?: { index: number; count: number; domains: { account: string; region: string; keys: number }[] };
  summary: { total: number; ok: number; failed: number; attention: number; skipped: number; seconds: number };
  keys: FleetRow[];
}

/**
 * Prints the report instead of the table or JSON (status --plan --format prometheus); its exit code
 * replaces the one from the rows' statuses unless a key failed.
 */
export interface FleetOutput {
  render(io: Io, report: FleetReport): void;
  exitCode(report: FleetReport): number;
}

/** The alias a plan entry names its key by, or undefined when it names a key id or key ARN. */
export function aliasOf(key: string): string | undefined {
  if (key.startsWith('alias/')) return key;
  const m = /^arn:[^:]+:kms:[^:]+:[0-9]{12}:(alias\/.+)$/.exec(key);
  return m?.[1];
}

/** What a command does with one entry, given its (limited) KMS port. */
export type EntryWork = (entry: PlanEntry, kms: KmsPort, io: Io, now: () => Date) => Promise<Omit<FleetRow, 'index' | 'key' | 'alias' | 'region' | 'profile' | 'account' | 'roleArn'>>;


/** Reads and validates the plan; every problem is printed before the error is thrown. */
export function loadPlan(io: Io, path: string, command: FleetCommand, identityGiven = false): { plan: Plan; sha256: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new KmsByokError('ERR_FILE_READ', `cannot read the plan ${path} (${(e as { code?: string }).code ?? 'error'})`, { hint: 'check the --plan path' });
  }
  try {
    const plan = parsePlan(text, { baseDir: dirname(path), exists: existsSync, now: new Date(), resolvePath: resolve });
    requireForCommand(plan, command, identityGiven);
    return { plan, sha256: createHash('sha256').update(text).digest('hex') };
  } catch (e) {
    for (const p of planProblems(e) ?? []) say(io, 'error', p);
    throw e;
  }
}

/**
 * Path of the run-state file of a command over a plan: `.<plan file>.<command>.run.jsonl` beside the
 * plan, `.<plan file>.<command>.shard-K-of-N.run.jsonl` for a shard; in `stateDir` instead when given.
 */
export function runStatePath(planPath: string, command: FleetCommand, where: { shard?: Shard; stateDir?: string } = {}): string {
  const shard = where.shard ? `.shard-${where.shard.index}-of-${where.shard.count}` : '';
  return resolve(where.stateDir ?? dirname(planPath), `.${basename(planPath)}.${command}${shard}.run.jsonl`);
}

/** The first line of a run-state file (docs/fleet.md, "Run state and the transcript"). */
export interface RunHeader {
  format: 'kms-byok-fleet-run';
  version: 1;
  command: FleetCommand;
  planSha256: string;
  startedAt: string;
  /** With --shard: the shard and the quota domains (`account/Region`) it serves. */
  shard?: { index: number; count: number; domains: string[] };
}

/** One line per finished key (no secrets). */
export interface RunLine {
  id: string;
  index: number;
  status: FleetRow['status'];
  code?: string;
  keyId?: string;
  action?: string;
  validTo?: string;
}

/** Ids of entries a previous run of the same plan and command finished (ok or attention). */
async function finishedBefore(path: string, command: FleetCommand, sha: string, io: Io, shard: Shard | undefined): Promise<Set<string> | undefined> {
  let text: string;
  try {
    // Never through a link, never a file of another user (ERR_UNSAFE_PATH): it decides what is skipped.
    const h = await openAppendOnly(path, 'the fleet run state', { create: false });
    try {
      text = (await readAllFrom(h)).toString('utf8');
    } finally {
      await h.close();
    }
  } catch (e) {
    if (e instanceof KmsByokError) throw asLocalInputError(e);
    return undefined;
  }
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const done = new Set<string>();
  let header: RunHeader | undefined;
  for (const line of lines) {
    try {
      const x = JSON.parse(line) as RunHeader | { id: string; status: string };
      if ('format' in x) header = x;
      else if (x.status === 'ok' || x.status === 'attention') done.add(x.id);
    } catch {
      /* a line cut short by a crash: ignore it (that key runs again) */
    }
  }
  if (!header || header.command !== command) return undefined;
  if (header.shard?.index !== shard?.index || header.shard?.count !== shard?.count) return undefined;
  if (header.planSha256 !== sha) {
    throw new KmsByokError('ERR_PLAN_CHANGED', `the plan changed since the run recorded in ${path}: cannot resume it`, {
      hint: 'run without --resume to start over (re-importing a finished key again is safe)',
    });
  }
  say(io, 'note', `resuming: ${done.size} key(s) finished in an earlier run are skipped`);
  return done;
}

/** What a caller other than the CLI's flags adds to a run (the Lambda handler: src/lambda/). */
export interface FleetRunOptions {
  /** Every key's escrow is opened by the caller's opener: entries need no identity source of their own. */
  identityGiven?: boolean;
}

/** Runs a fleet command over a plan; returns the exit code. */
export async function runFleet(p: Parsed, io: Io, command: FleetCommand, work: EntryWork, output?: FleetOutput, options: FleetRunOptions = {}): Promise<number> {
  const planPath = resolve(io.cwd, str(p, 'plan')!);
  if (p.positionals.length > 0 && p.values['key-id'] === undefined) {
    throw new KmsByokError('ERR_USAGE', `--plan names the keys: unexpected argument "${p.positionals[0]}"`, { hint: 'list the keys in the plan file, or drop --plan' });
  }
  refusePlanConflicts(p, command);
  const concurrencyText = str(p, 'concurrency') ?? '8';
  if (!/^\d{1,4}$/.test(concurrencyText) || Number(concurrencyText) < 1) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `invalid --concurrency "${concurrencyText}": expected a whole number ≥ 1`, { hint: 'e.g. --concurrency 8 (keys in flight per account and Region)' });
  }
  const scaleText = str(p, 'rate-scale');
  if (scaleText !== undefined && !/^\d+(\.\d+)?$/.test(scaleText)) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `invalid --rate-scale "${scaleText}": expected a positive number`, { hint: 'e.g. --rate-scale 20 (every default rate × 20)' });
  }
  const rates = resolveRates(strs(p, 'rate'), scaleText === undefined ? 1 : Number(scaleText));
  const shardText = str(p, 'shard');
  const shard = shardText === undefined ? undefined : parseShard(shardText);
  const stateDirText = str(p, 'state-dir');
  const stateDir = stateDirText === undefined ? undefined : resolve(io.cwd, stateDirText);
  const { plan, sha256 } = loadPlan(io, planPath, command, options.identityGiven === true);
  const mine = shard ? entriesOfShard(plan.entries, shard) : { entries: plan.entries, domains: assignDomains(plan.entries, 1) };
  if (bool(p, 'dry-run')) {
    printShardPlan(io, p, command, planPath, sha256, plan, shard);
    return ExitCode.ok;
  }
  if (shard) say(io, 'note', `shard ${shardLabel(shard)}: ${mine.entries.length} of ${plan.entries.length} key(s) in ${mine.domains.length} quota domain(s): ${mine.domains.map((d) => d.domain).join(', ') || 'none'}`);
  if (stateDir !== undefined) await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const statePath = runStatePath(planPath, command, { ...(shard ? { shard } : {}), ...(stateDir !== undefined ? { stateDir } : {}) });
  // One run per state file: a second run of the same shard (or plan) would interleave its lines.
  let locked = false;
  try {
    return await withFileLock(statePath, 'the fleet run state', () => ((locked = true), runLocked()), { waitMs: 0, onNote: (t) => say(io, 'note', t) });
  } catch (e) {
    if (!locked && e instanceof KmsByokError && e.code === 'ERR_LOCKED') {
      throw new KmsByokError('ERR_LOCKED', `another run holds ${statePath}: ${e.message}`, {
        hint: `each shard runs once at a time; wait for it${shard ? ` or run another shard than ${shardLabel(shard)}` : ''} (nothing was sent to KMS by this run)`,
        localInput: true,
      });
    }
    throw e;
  }

  async function runLocked(): Promise<number> {
    const resuming = bool(p, 'resume');
    const prior = resuming ? await finishedBefore(statePath, command, sha256, io, shard) : undefined;
    const skip = prior ?? new Set<string>();
    if (resuming && prior === undefined) say(io, 'note', 'no earlier run of this plan to resume: running every key');

    // Before any KMS request: the transcript must be appendable (not a link, chain intact), and every
    // entry's escrow directory safe from other users (docs/architecture.md, safe files).
    const transcriptPath = fleetTranscriptPath(io, p, plan);
    if (command !== 'status') await preflightTranscript(transcriptPath);
    for (const dir of new Set(mine.entries.map((e) => e.escrowDir))) assertDirectorySafe(dir);
    // The run-state file: appended as keys finish (a crash loses at most the keys in flight). A fresh
    // run replaces it by rename (a link planted there is refused, its target untouched); appends go
    // through O_APPEND|O_NOFOLLOW to a regular file we own.
    let state;
    try {
      if (prior === undefined) {
        const header: RunHeader = {
          format: 'kms-byok-fleet-run',
          version: 1,
          command,
          planSha256: sha256,
          startedAt: new Date().toISOString(),
          ...(shard ? { shard: { ...shard, domains: mine.domains.map((d) => d.domain) } } : {}),
        };
        await replaceAtomic(statePath, `${JSON.stringify(header)}\n`, 'the fleet run state');
      }
      state = await openAppendOnly(statePath, 'the fleet run state', { create: false });
    } catch (e) {
      throw asLocalInputError(e); // nothing has reached KMS yet: a planted link is exit 2
    }

    const clock: LimiterClock = { now: () => performance.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };
    const limiter = new RateLimiter(rates, clock);
    // One gate for every port of the run: keys in flight at a signal get FLEET_GRACE_MS to finish.
    const targets = await openRegionalTargets(p, io, io.cancel.graceGate(FLEET_GRACE_MS));
    const now = targets.now;
    let retries = 0;
    const limited = new Map<string, Promise<KmsPort>>();
    const portOf = (e: PlanEntry): Promise<KmsPort> => {
      const profile = e.profile ?? str(p, 'profile');
      // The credentials: a profile (or the default chain), or a role assumed with them (docs/fleet.md).
      const who = `${profile ?? ''}${e.role ? `>${e.role.roleArn}` : ''}${e.account ? `@${e.account}` : ''}`;
      const k = `${who}/${e.region}`;
      let port = limited.get(k);
      if (!port) {
        const access = { ...(e.role ? { role: e.role } : {}), ...(e.account ? { account: e.account } : {}) };
        // The limiter retries (with backoff, adapting its rate); the target's ports never retry on their own.
        // Its pace is per quota domain: the account (when the plan names it) and the Region.
        port = targets
          .portFor(e.region, profile, access)
          .then((raw) => limitKms(raw, { limiter, clock, scope: (region) => `${accountOf({ ...e, profile })}/${region}`, onRetry: () => void retries++ }));
        // A port that cannot be made fails its entries only; do not cache the rejection forever.
        port.catch(() => limited.delete(k));
        limited.set(k, port);
      }
      return port;
    };

    const groups = new Map<string, PlanEntry[]>();
    const callers: string[] = [];
    const rows = new Map<number, FleetRow>();
    let skipped = 0;
    for (const e of mine.entries) {
      const base = baseRow(e);
      if (skip.has(e.id)) {
        rows.set(e.index, { ...base, status: 'skipped', detail: 'finished in an earlier run' });
        skipped++;
        continue;
      }
      const g = `${e.profile ?? ''}${e.role ? `>${e.role.roleArn}` : ''}${e.account ? `@${e.account}` : ''}/${e.region}`;
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g)!.push(e);
    }
    const total = mine.entries.length - skipped;
    const started = performance.now();
    const progress = new Progress(io, total, p);
    const quietIo: Io = { ...io, stderr: { write: () => {} } };
    try {
      await runPool(groups, Number(concurrencyText), async (e) => {
        const base = baseRow(e);
        if (io.cancel.stop.aborted) {
          // Stopped: no new key starts; nothing is written to the run state, so --resume runs it.
          rows.set(e.index, { ...base, status: 'stopped', detail: `not started: stopped by ${io.cancel.reason()}` });
          return;
        }
        const finish = io.cancel.track(`key ${e.key} (${e.region})`, false);
        let row: FleetRow;
        try {
          const kms = await portOf(e);
          row = { ...base, ...(await work(e, kms, quietIo, now)) };
        } catch (err) {
          row =
            err instanceof KmsByokError
              ? { ...base, status: 'failed', code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}) }
              : { ...base, status: 'failed', code: 'ERR_INTERNAL', message: err instanceof Error ? err.message : String(err) };
        } finally {
          finish(false);
        }
        rows.set(e.index, row);
        const line: RunLine = {
          id: e.id,
          index: e.index,
          status: row.status,
          ...(row.code ? { code: row.code } : {}),
          ...(row.keyId ? { keyId: row.keyId } : {}),
          ...(row.action ? { action: row.action } : {}),
          ...(row.validTo ? { validTo: row.validTo } : {}),
        };
        await state.appendFile(`${JSON.stringify(line)}\n`);
        progress.tick(row.status === 'failed');
      });
    } finally {
      progress.stop();
      await state.close();
      // Who made the calls, per set of credentials and Region the run used (docs/lifecycle.md, "Ceremony
      // transcript"), asked before the emulator (if any) stops; a failed answer is recorded as unknown.
      if (command !== 'status') {
        for (const [g, [e]] of groups) {
          const profile = e!.profile ?? str(p, 'profile');
          const access = { ...(e!.role ? { role: e!.role } : {}), ...(e!.account ? { account: e!.account } : {}) };
          const who = await targets.identityFor(e!.region, profile, access).then(
            (id) => `${id.arn} (account ${id.account})`,
            (err: unknown) => `unknown (GetCallerIdentity failed: ${err instanceof Error ? err.message : String(err)})`,
          );
          callers.push(`${g}: ${who}`);
        }
      }
      await targets.close();
    }

    const seconds = Math.round((performance.now() - started) / 100) / 10;
    const ordered = mine.entries.map((e) => rows.get(e.index)!).filter((r) => r !== undefined);
    const count = (s: FleetRow['status']) => ordered.filter((r) => r.status === s).length;
    const report: FleetReport = {
      command,
      plan: planPath,
      resumed: resuming,
      ...(shard ? { shard: { ...shard, domains: mine.domains.map(({ account, region, keys }) => ({ account, region, keys })) } } : {}),
      summary: { total: mine.entries.length, ok: count('ok'), failed: count('failed'), attention: count('attention'), skipped: count('skipped'), seconds },
      keys: ordered,
    };
    let unrecorded: unknown;
    if (command !== 'status') await transcript(io, transcriptPath, report, sha256, retries, callers).catch((e: unknown) => void (unrecorded = e));
    if (output) output.render(io, report);
    else if (bool(p, 'json')) printDocument(io, fleetDocument(report));
    else renderTable(io, report);
    if (unrecorded !== undefined) {
      // The keys' results above stand; the run's record is missing: that is a failure (exit 1).
      throw transcriptFailure(transcriptPath, `${command} --plan: ${report.summary.ok} ok, ${report.summary.failed} failed (see the table above)`, unrecorded);
    }
    const s = report.summary;
    say(io, null, `${command} --plan${shard ? ` --shard ${shardLabel(shard)}` : ''}: ${s.ok} ok, ${s.failed} failed${s.attention ? `, ${s.attention} need attention` : ''}${s.skipped ? `, ${s.skipped} skipped (finished before)` : ''} in ${seconds}s; ${retries} retried request(s)`);
    for (const r of ordered) if (r.status === 'failed') say(io, 'error', `${r.key} (${r.region}): ${r.code}: ${r.message}${r.hint ? ` — hint: ${r.hint}` : ''}`);
    const stopped = count('stopped') + ordered.filter((r) => r.code === 'ERR_CANCELLED').length;
    if (io.cancel.reason() && stopped > 0) {
      // cli/main.ts prints the interruption and the --resume command, and exits 128 + the signal.
      io.cancel.markCutShort();
      throw new KmsByokError('ERR_CANCELLED', `the run stopped: ${s.ok + s.attention} key(s) finished, ${s.failed} failed, ${stopped} not run or cut short; the run state is in ${statePath}`);
    }
    if (s.failed > 0) {
      say(io, 'hint', `fix what failed and run again with --resume: only the ${s.failed} unfinished key(s) run`);
      return ExitCode.failed;
    }
    if (output) return output.exitCode(report);
    return s.attention > 0 ? ExitCode.attention : ExitCode.ok;
  }
}

/**
 * `--dry-run` with `--plan`: the plan's quota domains, their key counts and shards (every shard, or
 * the one `--shard` names marked), without any KMS request or write.
 */
function printShardPlan(io: Io, p: Parsed, command: FleetCommand, planPath: string, sha256: string, plan: Plan, shard: Shard | undefined): void {
  const count = shard?.count ?? 1;
  const domains = assignDomains(plan.entries, count);
  if (bool(p, 'json')) {
    printDocument(io, {
      command,
      plan: planPath,
      planSha256: sha256,
      shards: count,
      ...(shard ? { shard: shard.index } : {}),
      keys: plan.entries.length,
      domains: domains.map(({ account, region, keys, shard: s }) => ({ account, region, keys, shard: s })),
    });
    return;
  }
  const rows = [['SHARD', 'ACCOUNT', 'REGION', 'KEYS', '']];
  for (const d of [...domains].sort((a, b) => a.shard - b.shard || (a.domain < b.domain ? -1 : 1))) {
    rows.push([`${d.shard}/${count}`, d.account || '(default)', d.region, String(d.keys), shard && d.shard === shard.index ? '<- this shard' : '']);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) io.stdout.write(`${r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
  const per = Array.from({ length: count }, (_, i) => domains.filter((d) => d.shard === i).reduce((n, d) => n + d.keys, 0));
  say(io, null, `${command} --plan --dry-run: ${plan.entries.length} key(s) in ${domains.length} quota domain(s) over ${count} shard(s) (keys per shard: ${per.join(', ')}); nothing was sent to KMS`);
}

function baseRow(e: PlanEntry): Pick<FleetRow, 'index' | 'key' | 'alias' | 'region' | 'profile' | 'account' | 'roleArn'> {
  const alias = aliasOf(e.key);
  return {
    index: e.index,
    key: e.key,
    ...(alias ? { alias } : {}),
    region: e.region,
    ...(e.profile ? { profile: e.profile } : {}),
    ...(e.account ? { account: e.account } : {}),
    ...(e.role ? { roleArn: e.role.roleArn } : {}),
  };
}

/** The fleet run's transcript: --transcript, else the first entry's escrow directory's transcript.md. */
function fleetTranscriptPath(io: Io, p: Parsed, plan: Plan): string {
  return str(p, 'transcript') ? resolve(io.cwd, str(p, 'transcript')!) : resolve(plan.entries[0]!.escrowDir, 'transcript.md');
}

/** One transcript entry per fleet run (not per key: the chain is re-read on every append). */
async function transcript(io: Io, path: string, r: FleetReport, sha: string, retries: number, callers: string[]): Promise<void> {
  await appendTranscript(io, path, {
    ceremony: `${r.command} --plan`,
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    outcome: `${r.summary.ok} ok, ${r.summary.failed} failed, ${r.summary.skipped} skipped`,
    fields: [
      ['operator', operatorName()],
      ['AWS caller', callers],
      ['plan', `${r.plan} (SHA-256 ${sha})`],
      ['retried requests', String(retries)],
      ['keys', r.keys.filter((k) => k.status !== 'skipped').map((k) => `${k.region} ${k.keyId ?? k.key}: ${k.status === 'failed' ? `failed ${k.code}` : `${k.action ?? k.status}${k.validTo ? ` ValidTo ${k.validTo}` : ''}`}`)],
    ],
  });
}

function renderTable(io: Io, r: FleetReport): void {
  const rows = [['#', 'KEY', 'ALIAS', 'REGION', 'PROFILE', 'RESULT', 'DETAIL']];
  for (const k of r.keys) {
    rows.push([
      String(k.index),
      k.keyId ?? k.key,
      k.alias ?? '-',
      k.region,
      k.profile ?? '-',
      k.status === 'ok' ? (k.action ?? k.keyState ?? 'ok') : k.status,
      k.status === 'failed' ? `${k.code}: ${k.message}` : [k.validTo ? `ValidTo ${k.validTo}` : undefined, k.detail].filter(Boolean).join('  ') || '-',
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows) io.stdout.write(`${row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()}\n`);
}

/** Progress on stderr: a redrawn line on a terminal, plain lines every interval otherwise. */
class Progress {
  private done = 0;
  private failed = 0;
  private readonly start = performance.now();
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly io: Io,
    private readonly total: number,
    p: Parsed,
  ) {
    const seconds = Number(str(p, 'progress-interval') ?? (io.stderrIsTTY ? '0.2' : '5'));
    if (total > 0 && Number.isFinite(seconds) && seconds > 0) {
      this.timer = setInterval(() => this.draw(false), seconds * 1000);
      this.timer.unref();
    }
  }

  tick(failed: boolean): void {
    this.done++;
    if (failed) this.failed++;
  }

  private line(): string {
    const elapsed = (performance.now() - this.start) / 1000;
    const rate = elapsed > 0 ? this.done / elapsed : 0;
    const left = this.total - this.done;
    const eta = rate > 0 ? `${Math.ceil(left / rate)}s` : '?';
    return `${this.done}/${this.total} keys done, ${this.failed} failed, ${left} remaining, ${rate.toFixed(1)} keys/s, ETA ${eta}`;
  }

  private draw(final: boolean): void {
    if (this.io.stderrIsTTY) {
      const width = 24;
      const filled = this.total === 0 ? width : Math.round((this.done / this.total) * width);
      this.io.stderr.write(`\r\x1b[2K[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.line()}${final ? '\n' : ''}`);
    } else {
      this.io.stderr.write(`kms-byok: progress: ${this.line()}\n`);
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.total > 0) this.draw(true);
  }
}
