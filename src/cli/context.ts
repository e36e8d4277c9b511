/**
 * The command context (docs/architecture.md, "Modules"): what commands open — the escrow vault over
 * `escrow/file-store` (latest version of a key, open, seal next version, record imports), the ceremony
 * journals (records/journal.ts), and the operator's name. Targets (KMS ports, the rehearsal emulator)
 * are opened by `target.ts`. Commands import neither `escrow/file-store`, `kms/aws` nor the emulator:
 * only this module and `target.ts` do (test/architecture.test.ts holds them to it).
 */
import { basename, dirname, resolve } from 'node:path';
import { KmsByokError } from '../core/errors.js';
import { checkValue } from '../material/check-value.js';
import { carryOverFacts, openEscrow, parseEscrowFileName, recordImport, type EscrowOpener, type OpenPurpose, type EscrowSealing, type EscrowSidecar } from '../escrow/index.js';
import { findLatestVersion, indexLatestVersions, nextEscrowVersion, readEscrow, updateSidecar, writeSealedEscrow, assertEscrowDirWritable } from '../escrow/file-store.js';
import type { LifecycleEscrow } from '../ceremony/shared.js';
import { latestEscrow, loadEscrowRef, type VersionFinder } from './sidecars.js';

/** The escrow directory read without a secret (cli/sidecars.ts). */
export { custodyRecordOf, latestEscrow, loadEscrowRef, type VersionFinder } from './sidecars.js';

/** `user@host` of the operator, for manifests and transcripts (one definition: airgap/bundles.ts). */
export { operator as operatorName } from '../airgap/bundles.js';
/** The ceremony journals (records/journal.ts), opened for commands here. */
export { journalPath, openJournal, inputsDifference, type CliJournal, type JournalFile } from '../records/journal.js';
/**
 * The escrow vault's files, as commands reach them: the context is the one importer of
 * `escrow/file-store` (docs/architecture.md, "Modules").
 */
export { findLatestVersion, indexLatestVersions, listVersions, nextEscrowVersion, readEscrow, updateSidecar, writeSealedEscrow } from '../escrow/file-store.js';

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

