/**
 * The effects the lifecycle ceremonies need, wired for the CLI: the escrow store over
 * `escrow/file-store` (latest version of a key, open, seal next version, record imports), the
 * ceremony journal (a small JSON file next to the escrow), and the operator's name.
 *
 * Test-only seam: when `KMS_BYOK_CRASH_AFTER_STEP` names a journal step, the process kills itself
 * with SIGKILL right after that step is durably journalled (used by the crash/resume test, which
 * spawns the built CLI). It is read from the CLI's Io environment only and never set by kms-byok.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { KmsByokError } from '../core/errors.js';
import { checkValue } from '../material/check-value.js';
import { carryOverFacts, openEscrow, parseEscrowFileName, recordImport, type EscrowOpener, type EscrowSealing, type EscrowSidecar } from '../escrow/index.js';
import { replaceAtomic } from '../escrow/safe-files.js';
import { ensureDirectory, findLatestVersion, indexLatestVersions, nextEscrowVersion, readEscrow, updateSidecar, writeSealedEscrow, assertEscrowDirWritable } from '../escrow/file-store.js';
import type { EscrowRef, JournalPort, LifecycleEscrow } from '../ceremony/lifecycle.js';
import { say, type Io } from './io.js';

/** `user@host`, as the escrow manifest and the transcript record it. */
/** `user@host` of the operator, for manifests and transcripts (one definition: cli/bundles.ts). */
export { operator as operatorName } from './bundles.js';

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
      return openEscrow(await readEscrow(ref.sidecarPath, { found: true }), o.opener, { computeCheckValue: checkValue });
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

/** The journal file: non-secret facts only. */
export interface JournalFile {
  format: 'kms-byok-journal';
  version: 1;
  ceremony: string;
  subject: string;
  startedAt: string;
  updatedAt: string;
  done: boolean;
  facts: Record<string, string>;
  steps: { step: string; at: string; facts?: Record<string, string> }[];
  /** The invocation's inputs (the flags that shape the ceremony): a journal is resumed only by equal ones. */
  inputs?: Record<string, string>;
  /** The command line that started it (what finishes it). */
  command?: string;
}

/** What a journal's inputs and this invocation's differ in, one "flag: journal → now" per line. */
export function inputsDifference(recorded: Record<string, string> | undefined, now: Record<string, string>): string[] {
  if (recorded === undefined) return ['(the journal records no inputs: it was not written by this kms-byok, or was planted)'];
  const keys = [...new Set([...Object.keys(recorded), ...Object.keys(now)])].sort();
  return keys.filter((k) => recorded[k] !== now[k]).map((k) => `${k}: ${recorded[k] ?? '(not given)'} → ${now[k] ?? '(not given)'}`);
}

/** Path of a ceremony's journal: `<escrow dir>/.journal/<ceremony>-<subject>.json`. */
export function journalPath(dir: string, ceremony: string, subject: string): string {
  const safe = subject.replace(/[^a-zA-Z0-9._-]/g, '_');
  return join(dir, '.journal', `${ceremony}-${safe}.json`);
}

/**
 * Replaces the journal atomically (exclusive temp file + rename, never through a link: see
 * `escrow/safe-files.ts`), creating its directory (0700) the first time it is missing.
 */
async function writeAtomic(path: string, text: string): Promise<void> {
  await ensureDirectory(dirname(path));
  await replaceAtomic(path, text, 'the journal');
}

function isStringRecord(v: unknown): v is Record<string, string> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
}

/** Whether a parsed journal has the fields a resume reads, with their types. */
function isJournalShape(j: JournalFile): boolean {
  return (
    typeof j.ceremony === 'string' && typeof j.subject === 'string' && typeof j.startedAt === 'string' && isStringRecord(j.facts) &&
    Array.isArray(j.steps) && j.steps.every((s) => typeof s === 'object' && s !== null && typeof s.step === 'string' && typeof s.at === 'string' && (s.facts === undefined || isStringRecord(s.facts)))
  );
}

export interface CliJournal extends JournalPort {
  readonly path: string;
  /** Whether an unfinished earlier run was found. */
  readonly resuming: boolean;
  finish(): Promise<void>;
}

/**
 * Opens the journal of `ceremony` on `subject`: an unfinished one is resumed (its facts are handed
 * to the ceremony); a finished one is replaced by a fresh journal.
 */
/** Refuses a journal (or its `.journal` directory) that another user owns or that group/others may write. */
async function assertJournalOwned(path: string): Promise<void> {
  const me = typeof process.geteuid === 'function' ? process.geteuid() : undefined;
  if (me === undefined) return;
  for (const p of [dirname(path), path]) {
    const st = await fs.lstat(p).catch((e: unknown) => {
      if ((e as { code?: string }).code === 'ENOENT') return undefined;
      throw e;
    });
    if (!st) return;
    const unsafe = st.isSymbolicLink() || (st.uid !== me && st.uid !== 0) || (st.mode & 0o022) !== 0;
    if (unsafe) {
      throw new KmsByokError('ERR_UNSAFE_PATH', `the journal ${p} is ${st.isSymbolicLink() ? 'a symbolic link' : 'owned by another user or writable by group/others'}: its facts cannot be trusted`, {
        hint: `check who wrote it; if it is yours: chmod go-w ${p} (and chown it to yourself), then re-run`,
      });
    }
  }
}

export async function openJournal(
  io: Io,
  dir: string,
  ceremony: string,
  subject: string,
  invocation?: { inputs: Record<string, string>; command: string; discard: boolean },
): Promise<CliJournal> {
  const path = journalPath(dir, ceremony, subject);
  let previous: JournalFile | undefined;
  try {
    // A journal is trusted only as far as its directory is: both must be this user's (or root's)
    // and writable by no one else, or a neighbour could plant the facts a resumed run acts on.
    await assertJournalOwned(path);
    const parsed = JSON.parse(await fs.readFile(path, 'utf8')) as JournalFile;
    // A journal of another shape (hand-edited, damaged) is treated like an unreadable one: ignored.
    // Resuming never trusts it anyway (KMS and the escrow are asked before acting); before this
    // check, e.g. `"steps": {}` crashed the run with an internal error.
    if (parsed?.format === 'kms-byok-journal' && parsed.version === 1 && !parsed.done && isJournalShape(parsed)) previous = parsed;
  } catch (e) {
    if (e instanceof KmsByokError) throw e;
    if ((e as { code?: string }).code !== 'ENOENT' && !(e instanceof SyntaxError)) {
      throw new KmsByokError('ERR_JOURNAL', `cannot read the journal ${path} (${(e as { code?: string }).code ?? 'error'})`, { hint: 'check the escrow directory' });
    }
  }
  // The command line wins over journals (docs/lifecycle.md, "Journals"): an unfinished journal is
  // resumed only when its recorded inputs equal this invocation's; otherwise refused before anything
  // is sent to KMS, unless --discard-journal, which removes it after saying what it abandons.
  if (previous && invocation) {
    const diff = inputsDifference(previous.inputs, invocation.inputs);
    if (diff.length > 0 && !invocation.discard) {
      throw new KmsByokError('ERR_JOURNAL_INPUTS', `an unfinished ${ceremony} of ${subject} was started with other inputs (journal ${path}): ${diff.join('; ')}`, {
        hint: `${previous.command ? `finish it with: ${previous.command}; ` : ''}or discard it: ${invocation.command} --discard-journal`,
      });
    }
  }
  if (previous && invocation?.discard) {
    const last = previous.steps[previous.steps.length - 1]?.step ?? 'none';
    const facts = Object.entries(previous.facts).filter(([k]) => /keyid|escrow|alias/i.test(k)).map(([k, v]) => `${k} ${v}`).join(', ');
    say(io, 'warning', `discarding the unfinished ${ceremony} of ${subject} (journal ${path}; last step: ${last}${facts ? `; it recorded ${facts}` : ''}): this run starts afresh and will not finish it`);
    try {
      await fs.unlink(path);
    } catch (e) {
      throw new KmsByokError('ERR_JOURNAL', `cannot remove the journal ${path} (${(e as { code?: string }).code ?? 'error'})`, { hint: 'check the escrow directory' });
    }
    previous = undefined;
  } else if (!previous && invocation?.discard) {
    say(io, 'note', `--discard-journal: no unfinished ${ceremony} of ${subject} to discard`);
  }
  const now = new Date().toISOString();
  const state: JournalFile = previous ?? {
    format: 'kms-byok-journal',
    version: 1,
    ceremony,
    subject,
    startedAt: now,
    updatedAt: now,
    done: false,
    facts: {},
    steps: [],
    ...(invocation ? { inputs: invocation.inputs, command: invocation.command } : {}),
  };
  if (previous) {
    say(io, 'note', `resuming an unfinished ${ceremony} of ${subject} (journal ${path}; last step: ${previous.steps[previous.steps.length - 1]?.step ?? 'none'})`);
  }
  const crashAfter = io.env.KMS_BYOK_CRASH_AFTER_STEP;
  const save = async () => {
    state.updatedAt = new Date().toISOString();
    try {
      await writeAtomic(path, `${JSON.stringify(state, null, 2)}\n`);
    } catch (e) {
      if (e instanceof KmsByokError) throw e; // ERR_UNSAFE_PATH: a link planted as the journal
      throw new KmsByokError('ERR_JOURNAL', `cannot write the journal ${path} (${(e as { code?: string }).code ?? 'error'})`, {
        hint: 'the escrow directory must be writable: check its permissions and free space',
      });
    }
  };
  return {
    path,
    resuming: previous !== undefined,
    resumed: { ...(previous?.facts ?? {}) },
    async step(name, facts) {
      state.steps.push({ step: name, at: new Date().toISOString(), ...(facts ? { facts } : {}) });
      if (facts) Object.assign(state.facts, facts);
      await save();
      if (crashAfter !== undefined && crashAfter === name) process.kill(process.pid, 'SIGKILL');
    },
    async finish() {
      state.done = true;
      await save();
    },
  };
}

/** Whether `text` names a key id (UUID or mrk-…), so it can be matched to an escrow before any KMS call. */
export { keyIdOf } from '../core/aws-ids.js';

/** The key id an escrow file name belongs to, when the name is one. */
export function escrowKeyIdOfPath(path: string): string | undefined {
  return parseEscrowFileName(basename(path))?.keyId;
}
