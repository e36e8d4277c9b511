/**
 * What the lifecycle commands (reimport, restore, rotate, revoke) share at the CLI edge: the
 * escrow/opener inputs (their flags are declared in specs/shared.ts, ESCROW_INPUT), the target with a
 * KMS request-id log, the journal, and the transcript entry appended after every ceremony (whether it
 * succeeded or not).
 */
import * as fs from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { KmsByokError } from '../core/errors.js';
import type { EscrowOpener } from '../escrow/index.js';
import type { LifecycleDeps } from '../ceremony/lifecycle.js';
import type { TranscriptRecord } from '../ceremony/transcript.js';
import { appendTranscript, describeFailure, preflightTranscript, transcriptFailure } from './transcript-file.js';
import { assertDirectorySafe } from '../escrow/safe-files.js';
import { str, strs, bool, type Parsed } from './args.js';
import { say, type Io } from './io.js';
import { openTarget, type Target } from './target.js';
import { readOpener } from './escrow-inputs.js';
import { notify, type NotifyDocument } from './notify.js';
import { fileEscrowStore, keyIdOf, latestEscrow, openJournal, operatorName, type CliJournal, type EscrowStoreOptions } from './lifecycle-edge.js';
import { findLatestVersion } from '../escrow/file-store.js';

export function escrowDirOf(p: Parsed, io: Io): string {
  const file = str(p, 'escrow');
  if (file !== undefined) return dirname(resolve(io.cwd, file));
  return resolve(io.cwd, str(p, 'escrow-dir') ?? 'escrow');
}

/** The opener from --identity / --passphrase-file, or undefined when neither is given. */
export async function optionalOpener(p: Parsed, io: Io): Promise<EscrowOpener | undefined> {
  if (strs(p, 'identity').length === 0 && str(p, 'passphrase-file') === undefined) return undefined;
  return readOpener(io, { identities: strs(p, 'identity'), passphraseFile: str(p, 'passphrase-file') });
}

/** A ceremony that cannot run without the key's escrow; `refuse` turns the problem into its error. */
export type EscrowNeed = true | { refuse: (problem: string) => Promise<KmsByokError> };

export interface CeremonyContext {
  deps: LifecycleDeps;
  target: Target;
  journal: CliJournal;
  requests: string[];
  escrowDir: string;
}

/**
 * Runs one ceremony: opens target, journal and escrow store, runs `body`, finishes the journal on
 * success, and appends a transcript entry either way (failures are recorded with their code).
 */
export async function runCeremony<T>(
  p: Parsed,
  io: Io,
  c: {
    ceremony: string;
    subject: string;
    opener?: EscrowOpener | undefined;
    store?: Partial<EscrowStoreOptions>;
    /** Transcript fields from the result (or from what is known when it failed). */
    record: (result: T | undefined) => TranscriptRecord['fields'];
    outcome: (result: T) => string;
    /** Name the journal by the subject as given (an alias), not by the key it resolves to now. */
    literalSubject?: boolean;
    /** The key whose escrow facts (custodians, file hashes, check values, wrapping) the entry records. */
    keyOf?: (result: T) => string | undefined;
    /** When true for a result, nothing happened worth an audit entry (e.g. "not due"). */
    quiet?: (result: T) => boolean;
    /**
     * The ceremony cannot run without an escrow of the key in the escrow directory: a missing
     * directory, or one without an escrow of the key, is refused before the target is opened (by key
     * id) or right after the alias is resolved — nothing sent to KMS that changes anything, nothing
     * written (no directory, journal or transcript). `refuse` builds the error (default ERR_ESCROW_NOT_FOUND).
     */
    needsEscrow?: EscrowNeed;
  },
  body: (ctx: CeremonyContext) => Promise<T>,
): Promise<T> {
  const escrowDir = escrowDirOf(p, io);
  const requests: string[] = [];
  const file = str(p, 'escrow');
  const store = fileEscrowStore({ dir: escrowDir, ...(file ? { file: resolve(io.cwd, file) } : {}), ...(c.opener ? { opener: c.opener } : {}), ...c.store });
  // An explicit --escrow FILE was read before (assertEscrowFileMatches); the directory is checked here.
  const escrowNeeded = file === undefined ? c.needsEscrow : undefined;
  if (escrowNeeded) await assertEscrowPresent(escrowDir, keyIdOf(c.subject), escrowNeeded);
  // Before anything reaches KMS: an escrow directory others could change, and a transcript that is a
  // link or whose chain is broken, refuse the ceremony (docs/architecture.md, safe files).
  assertDirectorySafe(escrowDir);
  const transcriptPath = transcriptPathOf(p, io, escrowDir);
  await preflightTranscript(transcriptPath);
  const target = await openTarget(p, io, { onRequest: (op, id) => requests.push(`${op} ${id ?? '(no request id)'}`) });
  let journal: CliJournal;
  let subject = c.subject;
  try {
    // The journal is named by key id, so `alias/x` and the key's id or ARN find the same one.
    subject =
      keyIdOf(c.subject) ?? (!c.literalSubject && c.subject.startsWith('alias/') ? await target.kms.describeKey(c.subject).then((k) => k.KeyId, () => c.subject) : c.subject);
    if (escrowNeeded && keyIdOf(c.subject) === undefined && keyIdOf(subject) !== undefined) await assertEscrowPresent(escrowDir, keyIdOf(subject), escrowNeeded);
    journal = await openJournal(io, escrowDir, c.ceremony, subject);
  } catch (e) {
    await target.close();
    throw e;
  }
  if (bool(p, 'resume') && !journal.resuming) say(io, 'note', `no unfinished ${c.ceremony} of ${c.subject} to resume: starting afresh`);
  const started = new Date();
  let result: T | undefined;
  let failure: unknown;
  try {
    result = await body({
      deps: {
        kms: target.kms,
        escrow: store,
        journal,
        now: target.now,
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
        progress: (step) => say(io, null, `✓ ${step}`),
      },
      target,
      journal,
      requests,
      escrowDir,
    });
    await journal.finish();
    return result;
  } catch (e) {
    failure = e;
    throw e;
  } finally {
    await target.close();
    let unrecorded: unknown;
    if (result === undefined || !c.quiet?.(result)) {
      try {
        await transcriptEntry();
      } catch (e) {
        unrecorded = e;
      }
    }
    const hook = str(p, 'notify-command');
    if (hook !== undefined) await notify(io, hook, notifyDocument(c.ceremony, result, failure));
    if (unrecorded !== undefined) {
      // A ceremony without its record failed as a record (exit 1), after saying what KMS did; one
      // that failed anyway keeps its own error, and the missing entry is said on stderr.
      if (failure === undefined) throw transcriptFailure(transcriptPath, c.outcome(result as T), unrecorded);
      say(io, 'error', `the transcript entry of this failed ${c.ceremony} could not be written: ${describeFailure(unrecorded)}`);
    }
  }

  async function transcriptEntry(): Promise<void> {
    const outcome =
      result !== undefined
        ? c.outcome(result)
        : failure instanceof KmsByokError
          ? `failed: ${failure.code}: ${failure.message} (journal ${journal.path} lets a re-run resume)`
          : `failed: ${failure instanceof Error ? failure.message : String(failure)}`;
    await appendTranscript(io, transcriptPath, {
      ceremony: c.ceremony,
      time: started.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      outcome,
      fields: [
        ['operator', operatorName()],
        ['target', target.label],
        ...c.record(result),
        ...(await escrowFacts(escrowDir, (result !== undefined ? c.keyOf?.(result) : undefined) ?? keyIdOf(subject))),
        ['journal', journal.path],
        ['KMS requests', requests],
      ],
    });
  }
}

/**
 * Refuses (without writing anything) when `dir` is not an existing directory or, once the key id is
 * known, holds no escrow version of it. Listing errors other than "missing" are ERR_ESCROW_UNREADABLE.
 */
async function assertEscrowPresent(dir: string, keyId: string | undefined, needs: EscrowNeed): Promise<void> {
  let problem: string | undefined;
  const isDir = await fs.stat(dir).then(
    (st) => st.isDirectory(),
    (e: unknown) => ((e as { code?: string }).code === 'ENOENT' ? undefined : true),
  );
  if (isDir === undefined) problem = `escrow directory ${dir} does not exist`;
  else if (!isDir) problem = `escrow directory ${dir} is not a directory`;
  else if (keyId !== undefined && (await findLatestVersion(dir, keyId)) === undefined) problem = `no escrow of key ${keyId} in ${dir}`;
  if (problem === undefined) return;
  throw needs === true ? (await import('../ceremony/lifecycle.js')).escrowNotFound(problem) : await needs.refuse(problem);
}

/** Non-secret facts of a key's latest escrow for the transcript: custodians, files, check values, wrapping. */
export async function escrowFacts(dir: string, keyId: string | undefined): Promise<TranscriptRecord['fields']> {
  if (keyId === undefined) return [];
  const ref = await latestEscrow(dir, keyId).catch(() => undefined);
  if (!ref) return [['escrow of ' + keyId, 'none found']];
  const m = ref.sidecar.manifest;
  const c = m.custodians;
  const wrapping = [...new Set(ref.sidecar.materials.map((x) => x.firstImport && x.firstImport.wrappingAlgorithm ? `${x.firstImport.wrappingAlgorithm} with ${x.firstImport.wrappingKeySpec ?? '?'}` : undefined).filter((x): x is string => x !== undefined))];
  return [
    ['account / Region', `${m.account} / ${m.region}`],
    ['key spec', `${m.keySpec} (${m.keyUsage})${m.multiRegion ? ', multi-Region' : ''}`],
    ['wrapping', wrapping.join(', ') || undefined],
    [
      'custodians',
      [
        ...c.recipients.map((r) => r.label ?? `${r.recipient.slice(0, 12)}…${r.recipient.slice(-6)}`),
        ...(c.passphrase ? ['passphrase'] : []),
        ...(c.threshold !== undefined ? [`any ${c.threshold} of ${c.recipients.length}`] : []),
        ...(c.split ? [`XOR split among ${c.recipients.length}`] : []),
      ],
    ],
    ['check values', ref.sidecar.materials.map((x) => `material ${x.index}: ${x.checkValue}${x.keyMaterialId ? ` (KeyMaterialId ${x.keyMaterialId})` : ''}`)],
    [`escrow v${m.escrowVersion} files (SHA-256)`, ref.sidecar.files.map((f) => `${f.name} ${f.sha256}`)],
  ];
}

/** The transcript's edge lives in `transcript-file.ts`; re-exported for the commands that import it from here. */
export { appendTranscript, preflightTranscript, transcriptFailure } from './transcript-file.js';

/** The transcript file of a ceremony: --transcript, else `<escrow dir>/transcript.md`. */
export function transcriptPathOf(p: Parsed, io: Io, escrowDir: string): string {
  const t = str(p, 'transcript');
  return t ? resolve(io.cwd, t) : resolve(escrowDir, 'transcript.md');
}

/** The hook's document: the result object the JSON output prints, or the error's code and message. */
export function notifyDocument(ceremony: string, result: unknown, failure: unknown): NotifyDocument {
  const doc: NotifyDocument = { ceremony, ok: result !== undefined, time: new Date().toISOString() };
  if (result !== undefined) doc.result = result;
  else doc.error = failure instanceof KmsByokError ? { code: failure.code, message: failure.message } : { code: 'ERR_INTERNAL', message: failure instanceof Error ? failure.message : String(failure) };
  return doc;
}
