/**
 * The per-key work of `reimport --plan`, `restore --plan` and `status --plan`: the same ceremonies
 * the single-key commands run (src/ceremony/{reimport,status}.ts), wired with each plan entry's
 * escrow, custodian identity source and the fleet's rate-limited KMS port. The opened payload is
 * disposed after each key; each custodian input (identity file, passphrase file) is read once per run
 * — a plan names the same few for hundreds of keys, and stdin can be read only once — and passphrases
 * are disposed when the run ends. Each escrow directory is listed once per run (indexedVersionFinder).
 */
import { parseDuration } from '../core/time.js';
import type { PlanEntry } from './plan.js';
import type { KmsPort } from '../kms/port.js';
import { bool, str, type Parsed } from '../cli/args.js';
import type { Io } from '../cli/io.js';
import type { EscrowOpener } from '../escrow/index.js';
import { readOpener } from '../cli/escrow-inputs.js';
import { fileEscrowStore, indexedVersionFinder, keyIdOf, latestEscrow, openJournal, type VersionFinder } from '../cli/context.js';
import { aliasOf, runFleet, type FleetOutput, type FleetRow } from './run.js';
import { renderPrometheus } from '../records/prometheus.js';
import { ExitCode, KmsByokError } from '../core/errors.js';
import type { KeyStatus } from '../ceremony/status.js';
import { renderFleetHtml } from './html.js';
import { accountOf } from './shard.js';
import { replaceAtomic } from '../records/safe-files.js';
import { say } from '../cli/io.js';
import { resolve } from 'node:path';

type Work = Omit<FleetRow, 'index' | 'key' | 'alias' | 'region' | 'profile'>;

/** Escrow openers of one run, by custodian input; {@link dispose} zeroes the passphrases. */
class OpenerCache {
  private readonly openers = new Map<string, Promise<EscrowOpener>>();
  private disposed = false;
  /** `given`: one opener for every entry (the caller's; not disposed here), instead of the plan's sources. */
  constructor(private readonly given?: EscrowOpener) {}
  get(io: Io, e: PlanEntry): Promise<EscrowOpener> {
    // Precondition: the run is still going (runPool settles every key before the run's cleanup).
    if (this.disposed) throw new Error('internal: escrow opener requested after the run ended');
    if (this.given) return Promise.resolve(this.given);
    const id = JSON.stringify([e.identities, e.passphraseFile ?? null]);
    let o = this.openers.get(id);
    if (!o) {
      o = readOpener(io, { identities: e.identities, passphraseFile: e.passphraseFile });
      // A failed read is not cached as such: the next entry with this input tries (and reports) again.
      o.catch(() => this.openers.delete(id));
      this.openers.set(id, o);
    }
    return o;
  }
  async dispose(): Promise<void> {
    this.disposed = true;
    for (const o of this.openers.values()) {
      const opener = await o.catch(() => undefined);
      if (opener && 'passphrase' in opener) opener.passphrase.dispose();
    }
    this.openers.clear();
  }
}

async function lifecycleWork(e: PlanEntry, kms: KmsPort, io: Io, now: () => Date, mode: 'reimport' | 'restore', beforeMs: number | undefined, openers: OpenerCache, find: VersionFinder): Promise<Work> {
  const opener = await openers.get(io, e);
  const store = fileEscrowStore({ dir: e.escrowDir, ...(e.escrow ? { file: e.escrow } : {}), opener, find, purpose: mode === 'reimport' ? 'renewal' : 'custody' });
  const journal = await openJournal(io, e.escrowDir, mode, keyIdOf(e.key) ?? e.key);
  const { runReimport } = await import('../ceremony/reimport.js');
  const r = await runReimport(
    { key: e.key, expiry: e.expiry!, mode, ...(beforeMs !== undefined ? { beforeMs } : {}) },
    { kms, escrow: store, journal, now, sleep: (ms) => new Promise((res) => setTimeout(res, ms)), progress: () => {} },
  );
  await journal.finish();
  const imported = r.materials.filter((m) => m.reimported);
  const validTo = imported.find((m) => m.validTo)?.validTo ?? r.earliestValidTo;
  return {
    status: 'ok',
    action: r.action,
    keyId: r.keyId,
    ...(validTo ? { validTo } : {}),
    detail: `${imported.length}/${r.materials.length} material(s) imported${r.replicas ? `, ${r.replicas.length} replica(s)` : ''}`,
  };
}

/** Runs a lifecycle plan with one opener cache, disposed however the run ends. */
async function lifecyclePlan(p: Parsed, io: Io, mode: 'reimport' | 'restore', beforeMs: number | undefined, given?: EscrowOpener): Promise<number> {
  const openers = new OpenerCache(given);
  const find = indexedVersionFinder();
  try {
    return await runFleet(p, io, mode, (e, kms, quiet, now) => lifecycleWork(e, kms, quiet, now, mode, beforeMs, openers, find), undefined, { identityGiven: given !== undefined });
  } finally {
    await openers.dispose();
  }
}

/**
 * `reimport --plan FILE`. `given`: open every escrow with this opener instead of the plan's identity
 * sources (the Lambda handler's decrypted identity, src/lambda/).
 */
export function reimportPlan(p: Parsed, io: Io, given?: EscrowOpener): Promise<number> {
  const before = str(p, 'before');
  const beforeMs = before === undefined ? undefined : parseDuration(before, '--before');
  return lifecyclePlan(p, io, 'reimport', beforeMs, given);
}

/** `restore --plan FILE`. */
export function restorePlan(p: Parsed, io: Io): Promise<number> {
  return lifecyclePlan(p, io, 'restore', undefined);
}

/**
 * `status --plan FILE`: each entry's warnDays and maxAge apply to it. `--format prometheus` prints the
 * textfile-collector gauges of every key (an `alias` label where the plan named the key by alias) and
 * exits 0 unless a key could not be read at all (a failed row: exit 1), as single-key status does.
 */
export async function statusPlan(p: Parsed, io: Io): Promise<number> {
  const formatText = str(p, 'format');
  if (formatText !== undefined && !['human', 'json', 'prometheus', 'html'].includes(formatText)) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `invalid --format "${formatText}"`, { hint: 'use human, json, prometheus or html (with --plan)' });
  }
  const out = str(p, 'out');
  if (out !== undefined && formatText !== 'html') throw new KmsByokError('ERR_USAGE', '--out takes the page of --format html', { hint: 'add --format html, or drop --out' });
  if (formatText !== undefined && formatText !== 'json' && bool(p, 'json')) {
    throw new KmsByokError('ERR_USAGE', `--json and --format ${formatText} both given`, { hint: 'give one of them' });
  }
  if (formatText === 'json') p.values.json = true;
  const find = indexedVersionFinder();
  const statuses: { keys: KeyStatus[]; aliases: Map<string, string>; at?: Date; byIndex: Map<number, KeyStatus> } = { keys: [], aliases: new Map(), byIndex: new Map() };
  const entries = new Map<number, PlanEntry>();
  const output: FleetOutput | undefined =
    formatText === 'html'
      ? {
          // One self-contained page (src/fleet/html.ts): to --out FILE (replaced atomically), else stdout.
          render: (o, report) => {
            const page = renderFleetHtml(
              report.keys.map((row) => {
                const e = entries.get(row.index);
                const st = statuses.byIndex.get(row.index);
                return { key: row.key, account: e ? accountOf(e) : (row.profile ?? ''), region: row.region, warnDays: e?.warnDays ?? 30, ...(st ? { status: st } : {}), ...(row.status === 'failed' ? { failure: `${row.code}: ${row.message}` } : {}) };
              }),
              statuses.at ?? new Date(),
              report.plan,
            );
            if (out === undefined) o.stdout.write(page);
            else pageWrites.push(replaceAtomic(resolve(io.cwd, out), page, 'the fleet page'));
          },
          exitCode: (report) => (report.summary.attention > 0 ? ExitCode.attention : ExitCode.ok),
        }
      : formatText === 'prometheus'
      ? {
          render: (out, report) => {
            // The keys in plan order; a key that could not be read at all has no gauges (its row failed).
            const order = new Map(report.keys.map((k) => [k.keyId ?? k.key, k.index]));
            const keys = [...statuses.keys].sort((a, b) => (order.get(a.keyId) ?? 0) - (order.get(b.keyId) ?? 0));
            out.stdout.write(renderPrometheus({ keys, attention: keys.some((k) => k.attention.length > 0) }, statuses.at ?? new Date(), (id) => statuses.aliases.get(id)));
          },
          exitCode: (report) => (report.summary.failed > 0 ? ExitCode.failed : ExitCode.ok),
        }
      : undefined;
  const pageWrites: Promise<void>[] = [];
  const code = await runFleet(
    p,
    io,
    'status',
    async (e, kms, _io, now) => {
      const { runStatus } = await import('../ceremony/status.js');
      const r = await runStatus(
        { keys: [e.key], warnDays: e.warnDays, ...(e.maxAgeMs !== undefined ? { maxAgeMs: e.maxAgeMs } : {}) },
        { kms, now, escrowOf: (keyId) => latestEscrow(e.escrowDir, keyId, find) },
      );
      const k = r.keys[0]!;
      statuses.keys.push(k);
      statuses.byIndex.set(e.index, k);
      entries.set(e.index, e);
      statuses.at ??= now();
      const alias = aliasOf(e.key);
      if (alias) statuses.aliases.set(k.keyId, alias);
      return {
        status: k.attention.length > 0 ? 'attention' : 'ok',
        keyState: k.keyState,
        attention: k.attention,
        keyId: k.keyId,
        ...(k.validTo ? { validTo: k.validTo } : {}),
        detail: k.attention.length > 0 ? k.attention.join('; ') : `escrow ${k.escrow.exists ? (k.escrow.matches ? `v${k.escrow.version} ok` : 'MISMATCH') : 'MISSING'}`,
      };
    },
    output,
  );
  await Promise.all(pageWrites);
  if (out !== undefined && pageWrites.length > 0) say(io, 'note', `the fleet page is in ${resolve(io.cwd, out)}`);
  return code;
}
