/**
 * Ceremony journals (docs/lifecycle.md, "Journals"): one small JSON file per unfinished ceremony in
 * `<escrow dir>/.journal/`, named by ceremony and subject, written atomically after every step, owned
 * by the operator (a journal another user could write is refused), and observed by the crash tests
 * through `journal-observer.ts`. A finished ceremony marks its journal done.
 */
import { lstatSync, readFileSync, type Stats } from 'node:fs';
import * as fs from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { KmsByokError } from '../core/errors.js';
import type { JournalPort } from '../ceremony/shared.js';
import { say, type Io } from '../cli/io.js';
import { replaceAtomic } from './safe-files.js';
import { journalled } from './journal-observer.js';
import { ensureDirectory } from '../escrow/file-store.js';

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
 * `records/safe-files.ts`), creating its directory (0700) the first time it is missing.
 */
async function writeAtomic(path: string, text: string): Promise<void> {
  try {
    await replaceAtomic(path, text, 'the journal');
  } catch (e) {
    // The directory is made when the first write finds it missing, not looked up before every write.
    if ((e as { code?: string }).code !== 'ENOENT') throw e;
    await ensureDirectory(dirname(path));
    await replaceAtomic(path, text, 'the journal');
  }
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
    let st: Stats | undefined;
    try {
      st = lstatSync(p);
    } catch (e) {
      if ((e as { code?: string }).code !== 'ENOENT') throw e;
    }
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
    // Synchronous, as the file-store's reads: a small file, read once per ceremony (docs/fleet.md).
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as JournalFile;
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
      journalled(name);
    },
    async finish() {
      state.done = true;
      await save();
    },
  };
}

