/**
 * The command context (docs/architecture.md, "Modules"): what commands open — the escrow vault over
 * `escrow/file-store` (latest version of a key, open, seal next version, record imports), the ceremony
 * journals (records/journal.ts), and the operator's name. Targets (KMS ports, the rehearsal emulator)
 * are opened by `target.ts`. Commands import neither `escrow/file-store`, `kms/aws` nor the emulator:
 * only this module and `target.ts` do (test/architecture.test.ts holds them to it).
 */
import { createHash } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { KmsByokError } from '../core/errors.js';
import { checkValue } from '../material/check-value.js';
import { carryOverFacts, openEscrow, parseEscrowFileName, recordImport, type EscrowOpener, type OpenPurpose, type EscrowSealing, type EscrowSidecar } from '../escrow/index.js';
import { findLatestVersion, indexLatestVersions, nextEscrowVersion, readEscrow, updateSidecar, writeSealedEscrow, assertEscrowDirWritable } from '../escrow/file-store.js';
import type { EscrowRef, LifecycleEscrow } from '../ceremony/shared.js';

/** `user@host` of the operator, for manifests and transcripts (one definition: airgap/bundles.ts). */
export { operator as operatorName } from '../airgap/bundles.js';
/** The ceremony journals (records/journal.ts), opened for commands here. */
export { journalPath, openJournal, inputsDifference, type CliJournal, type JournalFile } from '../records/journal.js';
/**
 * The escrow vault's files, as commands reach them: the context is the one importer of
 * `escrow/file-store` (docs/architecture.md, "Modules").
 */
export { findLatestVersion, indexLatestVersions, listVersions, nextEscrowVersion, readEscrow, updateSidecar, writeSealedEscrow } from '../escrow/file-store.js';

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Reads an escrow version (by any of its files) and notes sealed files that are missing or damaged. */
export async function loadEscrowRef(path: string, found = false): Promise<EscrowRef> {
  const loaded = await readEscrow(path, { found });
  const damaged = [...loaded.missing];
  for (const f of loaded.files) {
    const entry = loaded.sidecar.files.find((x) => x.name === f.name);
    if (entry && entry.sha256 !== sha256(f.bytes)) damaged.push(f.name);
  }
  const dir = dirname(loaded.sidecarPath);
  const main = loaded.sidecar.files.find((f) => f.role === 'recipients' || f.role === 'threshold-payload') ?? loaded.sidecar.files.find((f) => f.role === 'passphrase');
  return { path: main ? join(dir, main.name) : loaded.sidecarPath, sidecarPath: loaded.sidecarPath, sidecar: loaded.sidecar, damaged };
}

/** Finds the latest version of a key's escrow in a directory (default: {@link findLatestVersion}). */
export type VersionFinder = (dir: string, keyId: string) => Promise<{ escrowVersion: number; sidecarPath: string } | undefined>;

/** The latest escrow version of `keyId` in `dir`, or undefined. */
export async function latestEscrow(dir: string, keyId: string, find: VersionFinder = findLatestVersion): Promise<EscrowRef | undefined> {
  const latest = await find(dir, keyId);
  return latest ? loadEscrowRef(latest.sidecarPath, true) : undefined;
}

/**
 * A {@link VersionFinder} that lists each directory once ({@link indexLatestVersions}) for a run over
 * many keys. A key missing from the snapshot is looked up directly, so it never answers "none" for
 * an escrow that exists. A newer version written during the run is not seen: fleet runs write none,
 * and a ceremony refuses an escrow that lacks a material KMS holds (assertEscrowCovers).
 */
export function indexedVersionFinder(): VersionFinder {
  const indexes = new Map<string, ReturnType<typeof indexLatestVersions>>();
  return async (dir, keyId) => {
    let index = indexes.get(dir);
    if (!index) {
      index = indexLatestVersions(dir);
      index.catch(() => indexes.delete(dir));
      indexes.set(dir, index);
    }
    return (await index).get(keyId) ?? findLatestVersion(dir, keyId);
  };
}

export interface EscrowStoreOptions {
  dir: string;
  /** An explicit escrow file (--escrow): `latest` answers with it for its key. */
  file?: string;
  /** How to open escrows (--identity / --passphrase-file); absent for commands that only read sidecars. */
  opener?: EscrowOpener;
  /** Why escrows are opened (escrow/vault.ts OpenPurpose); default `custody`: no renewal seal. */
  purpose?: OpenPurpose;
  /** New custodians for a new version (--recipient / --passphrase-file); default: the previous manifest's. */
  sealing?: EscrowSealing;
  /** How to find a key's latest version (default: list the directory each time). */
  find?: VersionFinder;
  /** TESTS ONLY (KMS_BYOK_SCRYPT_WORK_FACTOR is never read): scrypt work factor. */
  scryptWorkFactor?: number;
}

/** The lifecycle escrow port over the file store. */
export function fileEscrowStore(o: EscrowStoreOptions): LifecycleEscrow {
  return {
    async latest(keyId) {
      if (o.file !== undefined) {
        const ref = await loadEscrowRef(o.file);
        // An explicit file stands for its key; a newer version beside it is used instead, so a
        // rotation's materials are never missed.
        if (ref.sidecar.manifest.keyId === keyId) return (await latestEscrow(dirname(ref.sidecarPath), keyId, o.find)) ?? ref;
        // Another key's file: an escrow of `keyId` beside it (a new key's) wins; else the caller refuses the file.
        return (await latestEscrow(dirname(ref.sidecarPath), keyId, o.find)) ?? ref;
      }
      return latestEscrow(o.dir, keyId, o.find);
    },
    async open(ref) {
      if (!o.opener) throw new KmsByokError('ERR_MISSING_INPUT', 'missing --identity or --passphrase-file: the escrow must be opened', { hint: 'pass --identity custodian.txt or --passphrase-file FILE' });
      if (ref.damaged.length > 0) {
        throw new KmsByokError('ERR_ESCROW_TAMPERED', `escrow file ${ref.damaged[0]} is missing or differs from its SHA-256 in the sidecar`, {
          hint: 'restore the file from a custodian\'s copy before importing from it',
        });
      }
      return openEscrow(await readEscrow(ref.sidecarPath, { found: true }), o.opener, { computeCheckValue: checkValue }, o.purpose ?? 'custody');
    },
    nextVersion: (keyId) => nextEscrowVersion(dirOf(o), keyId),
    async write(sealed) {
      await assertEscrowDirWritable(dirOf(o));
      const previous = await findLatestVersion(dirOf(o), sealed.keyId);
      const written = await writeSealedEscrow(dirOf(o), sealed.keyId, sealed);
      // A new version of the same key keeps every earlier material in order: carry what KMS told us
      // about them (first import, ValidTo history) into its sidecar.
      if (previous !== undefined) {
        const old = (await readEscrow(previous.sidecarPath, { found: true })).sidecar;
        await updateSidecar(written.sidecarPath, (s) => carryOverFacts(s, old));
      }
      return written;
    },
    async recordImport(sidecarPath, fact) {
      await updateSidecar(sidecarPath, (s) => recordImport(s, fact));
    },
    sealingFor(sidecar: EscrowSidecar): EscrowSealing {
      if (o.sealing) return o.sealing;
      const c = sidecar.manifest.custodians;
      const sealing: EscrowSealing = { recipients: c.recipients.map((r) => (r.label === undefined ? { recipient: r.recipient } : { recipient: r.recipient, label: r.label })) };
      if (c.threshold !== undefined) sealing.threshold = c.threshold;
      if (c.split !== undefined) sealing.split = c.split;
      // Renewal seals carry over to the next version (rotation), so the scheduled renewal keeps working.
      const renewal = sidecar.files.filter((f) => f.role === 'renewal' && f.holder !== undefined).map((f) => ({ ...f.holder! }));
      if (renewal.length > 0) sealing.renewal = renewal;
      if (c.passphrase) {
        if (!o.opener || !('passphrase' in o.opener)) {
          throw new KmsByokError('ERR_MISSING_INPUT', 'missing --passphrase-file: the escrow is also sealed to a passphrase, and the new version must be too', {
            hint: 'open the escrow with --passphrase-file FILE (the same passphrase seals the new version)',
          });
        }
        sealing.passphrase = o.opener.passphrase;
      }
      return sealing;
    },
  };
}

function dirOf(o: EscrowStoreOptions): string {
  return o.file !== undefined ? dirname(resolve(o.file)) : o.dir;
}

// ---------------------------------------------------------------------------------------------
// Journal
// ---------------------------------------------------------------------------------------------

/** Whether `text` names a key id (UUID or mrk-…), so it can be matched to an escrow before any KMS call. */
export { keyIdOf } from '../core/aws-ids.js';

/** The key id an escrow file name belongs to, when the name is one. */
export function escrowKeyIdOfPath(path: string): string | undefined {
  return parseEscrowFileName(basename(path))?.keyId;
}

/**
 * The HSM custody record of a key in the escrow directory (`<key-id>.pkcs11.json`, docs/hsm.md), for
 * status: read only, never through a link; undefined when there is none.
 */
export async function custodyRecordOf(dir: string, keyId: string): Promise<{ path: string; token: string; materials: { keyMaterialId?: string; checkValues: string[] }[] } | undefined> {
  const { readFile, lstat } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const path = join(dir, `${keyId}.pkcs11.json`);
  const st = await lstat(path).catch(() => undefined);
  if (!st || !st.isFile()) return undefined;
  const record = JSON.parse(await readFile(path, 'utf8')) as { format?: string; materials?: { keyMaterialId?: string; checkValues: string[]; token: { label: string; serial: string } }[] };
  if (record.format !== 'kms-byok-hsm-custody' || !Array.isArray(record.materials) || record.materials.length === 0) return undefined;
  const t = record.materials[0]!.token;
  return { path, token: `${t.label} (serial ${t.serial})`, materials: record.materials };
}
