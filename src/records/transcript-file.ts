/**
 * The transcript file's edge (the chain itself is `records/transcript.ts`, pure). Appends are
 * serialised by an exclusive lock beside the file (`<transcript>.lock`, `withFileLock`), and the file
 * is opened append-only without following links (`openAppendOnly`), read and appended through the
 * same descriptor: two ceremonies never chain onto the same head, and a link planted at the
 * transcript is refused (ERR_UNSAFE_PATH) with its target untouched. See docs/architecture.md.
 *
 * A ceremony checks its transcript before it sends anything to KMS ({@link preflightTranscript}): a
 * broken chain refuses the ceremony instead of being skipped. A transcript that cannot be written
 * after the KMS work is the ceremony's failure ({@link transcriptFailure}, ERR_TRANSCRIPT, exit 1).
 * {@link appendTranscript} returns the new chain head, for whoever anchors it elsewhere.
 */
import * as fs from 'node:fs/promises';
import { dirname } from 'node:path';
import { KmsByokError, asLocalInputError } from '../core/errors.js';
import { appendEntry, verifyTranscript, type TranscriptRecord } from './transcript.js';
import { ensureDirectory } from '../escrow/file-store.js';
import { appendSynced, isSymlink, openAppendOnly, readAllFrom, unsafePath, withFileLock } from './safe-files.js';
import { say, type Io } from '../cli/io.js';

/** Where an appended entry went and the chain head after it (SHA-256 hex). */
export interface TranscriptAppend {
  path: string;
  head: string;
  entries: number;
}

function brokenChain(path: string, entry: number, reason: string): KmsByokError {
  return new KmsByokError('ERR_TRANSCRIPT_FORMAT', `the transcript ${path} is broken at entry ${entry}: ${reason}; nothing more is appended to it`, {
    hint: `kms-byok transcript verify ${path} shows where; keep the damaged file for the auditors and give this ceremony a new --transcript FILE`,
  });
}

function notATranscript(path: string): KmsByokError {
  return new KmsByokError('ERR_NOT_A_TRANSCRIPT', `${path} is not a kms-byok transcript: nothing was appended to it`, {
    hint: 'give --transcript a new file, or the transcript.md a ceremony wrote',
  });
}

/**
 * Before any KMS request: refuses a transcript that is a link (ERR_UNSAFE_PATH), not a transcript
 * (ERR_NOT_A_TRANSCRIPT) or whose chain is broken (ERR_TRANSCRIPT_FORMAT, hint `kms-byok transcript
 * verify FILE`). A missing file is fine (the first append creates it).
 */
export async function preflightTranscript(path: string): Promise<void> {
  try {
    await preflight(path);
  } catch (e) {
    // Nothing has reached KMS yet: a link planted at the transcript is a bad local input (exit 2).
    throw e instanceof KmsByokError && e.code === 'ERR_UNSAFE_PATH' ? asLocalInputError(e) : e;
  }
}

async function preflight(path: string): Promise<void> {
  if (await isSymlink(path)) throw unsafePath(path, 'the transcript');
  let h: fs.FileHandle;
  try {
    h = await openAppendOnly(path, 'the transcript', { create: false });
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return;
    if (e instanceof KmsByokError) throw e;
    throw new KmsByokError('ERR_FILE_READ', `cannot open the transcript ${path} (${(e as { code?: string }).code ?? 'error'})`, {
      hint: 'give --transcript a file you may write (not a directory), or fix the escrow directory\'s permissions',
    });
  }
  try {
    const check = verifyTranscript((await readAllFrom(h)).toString('utf8'));
    if (check.foreign) throw notATranscript(path);
    if (!check.ok) throw brokenChain(path, check.broken!.entry, check.broken!.reason);
  } finally {
    await h.close();
  }
}

/**
 * Appends one chained entry under the transcript's lock: opens it append-only (created 0600 when
 * missing, never through a link), reads the chain through the same descriptor, appends, fsyncs.
 */
export async function appendTranscript(io: Io, path: string, record: TranscriptRecord): Promise<TranscriptAppend> {
  await ensureDirectory(dirname(path));
  const done = await withFileLock(
    path,
    `the transcript ${path}`,
    async () => {
      const h = await openAppendOnly(path, 'the transcript', { create: true });
      try {
        const existing = (await readAllFrom(h)).toString('utf8');
        let appended;
        try {
          appended = appendEntry(existing, record);
        } catch (e) {
          if (e instanceof KmsByokError && e.code === 'ERR_TRANSCRIPT_FORMAT') {
            const check = verifyTranscript(existing);
            throw brokenChain(path, check.broken?.entry ?? 0, check.broken?.reason ?? e.message);
          }
          if (e instanceof KmsByokError && e.code === 'ERR_NOT_A_TRANSCRIPT') throw notATranscript(path);
          throw e;
        }
        await appendSynced(h, appended.text);
        return { path, head: appended.head, entries: verifyTranscript(existing).entries + 1 };
      } finally {
        await h.close();
      }
    },
    { onNote: (text) => say(io, 'note', text) },
  );
  say(io, 'note', `transcript ${path}: head ${done.head}`);
  return done;
}

/** Why an append failed, in a few words (a KmsByokError's code and message, or the system code). */
export function describeFailure(e: unknown): string {
  if (e instanceof KmsByokError) return `${e.code}: ${e.message}`;
  const code = (e as { code?: string }).code;
  return code ?? (e instanceof Error ? e.message : String(e));
}

/**
 * ERR_TRANSCRIPT (exit 1): the ceremony's KMS work is done — `completed` says what it did — but its
 * record could not be written. Said so, so nobody re-runs a ceremony that succeeded.
 */
export function transcriptFailure(path: string, completed: string, e: unknown): KmsByokError {
  const cause = e instanceof KmsByokError && e.hint ? ` (${e.hint})` : '';
  return new KmsByokError('ERR_TRANSCRIPT', `the ceremony completed in KMS: ${completed}; its transcript entry could not be written: ${describeFailure(e)}${cause}`, {
    hint: `do not re-run the ceremony; check with kms-byok transcript verify ${path}, fix the file, and record what happened for the auditors`,
    cause: e,
  });
}
