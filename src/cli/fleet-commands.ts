/**
 * The per-key work of `reimport --plan`, `restore --plan` and `status --plan`: the same ceremonies
 * the single-key commands run (src/ceremony/{reimport,status}.ts), wired with each plan entry's
 * escrow, custodian identity source and the fleet's rate-limited KMS port. The opened payload is
 * disposed after each key; each custodian input (identity file, passphrase file) is read once per run
 * — a plan names the same few for hundreds of keys, and stdin can be read only once — and passphrases
 * are disposed when the run ends. Each escrow directory is listed once per run (indexedVersionFinder).
 */
import { parseDuration } from '../core/time.js';
import type { PlanEntry } from '../ceremony/fleet-plan.js';
import type { KmsPort } from '../kms/port.js';
import { str, type Parsed } from './args.js';
import type { Io } from './io.js';
import type { EscrowOpener } from '../escrow/index.js';
import { readOpener } from './escrow-inputs.js';
import { fileEscrowStore, indexedVersionFinder, keyIdOf, latestEscrow, openJournal, type VersionFinder } from './lifecycle-edge.js';
import { runFleet, type FleetRow } from './fleet.js';

type Work = Omit<FleetRow, 'index' | 'key' | 'region' | 'profile'>;

/** Escrow openers of one run, by custodian input; {@link dispose} zeroes the passphrases. */
class OpenerCache {
  private readonly openers = new Map<string, Promise<EscrowOpener>>();
  private disposed = false;
  get(io: Io, e: PlanEntry): Promise<EscrowOpener> {
    // Precondition: the run is still going (runPool settles every key before the run's cleanup).
    if (this.disposed) throw new Error('internal: escrow opener requested after the run ended');
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

async function lifecycleWork(e: PlanEntry, kms: KmsPort, io: Io, mode: 'reimport' | 'restore', beforeMs: number | undefined, openers: OpenerCache, find: VersionFinder): Promise<Work> {
  const opener = await openers.get(io, e);
  const store = fileEscrowStore({ dir: e.escrowDir, ...(e.escrow ? { file: e.escrow } : {}), opener, find });
  const journal = await openJournal(io, e.escrowDir, mode, keyIdOf(e.key) ?? e.key);
  const { runReimport } = await import('../ceremony/reimport.js');
  const r = await runReimport(
    { key: e.key, expiry: e.expiry!, mode, ...(beforeMs !== undefined ? { beforeMs } : {}) },
    { kms, escrow: store, journal, now: () => new Date(), sleep: (ms) => new Promise((res) => setTimeout(res, ms)), progress: () => {} },
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
async function lifecyclePlan(p: Parsed, io: Io, mode: 'reimport' | 'restore', beforeMs: number | undefined): Promise<number> {
  const openers = new OpenerCache();
  const find = indexedVersionFinder();
  try {
    return await runFleet(p, io, mode, (e, kms, quiet) => lifecycleWork(e, kms, quiet, mode, beforeMs, openers, find));
  } finally {
    await openers.dispose();
  }
}

/** `reimport --plan FILE`. */
export function reimportPlan(p: Parsed, io: Io): Promise<number> {
  const before = str(p, 'before');
  const beforeMs = before === undefined ? undefined : parseDuration(before, '--before');
  return lifecyclePlan(p, io, 'reimport', beforeMs);
}

/** `restore --plan FILE`. */
export function restorePlan(p: Parsed, io: Io): Promise<number> {
  return lifecyclePlan(p, io, 'restore', undefined);
}

/** `status --plan FILE`: each entry's warnDays and maxAge apply to it. */
export function statusPlan(p: Parsed, io: Io): Promise<number> {
  const find = indexedVersionFinder();
  return runFleet(p, io, 'status', async (e, kms) => {
    const { runStatus } = await import('../ceremony/status.js');
    const r = await runStatus(
      { keys: [e.key], warnDays: e.warnDays, ...(e.maxAgeMs !== undefined ? { maxAgeMs: e.maxAgeMs } : {}) },
      { kms, now: () => new Date(), escrowOf: (keyId) => latestEscrow(e.escrowDir, keyId, find) },
    );
    const k = r.keys[0]!;
    return {
      status: k.attention.length > 0 ? 'attention' : 'ok',
      keyState: k.keyState,
      attention: k.attention,
      keyId: k.keyId,
      ...(k.validTo ? { validTo: k.validTo } : {}),
      detail: k.attention.length > 0 ? k.attention.join('; ') : `escrow ${k.escrow.exists ? (k.escrow.matches ? `v${k.escrow.version} ok` : 'MISMATCH') : 'MISSING'}`,
    };
  });
}
