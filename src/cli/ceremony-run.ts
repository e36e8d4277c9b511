/**
 * What the lifecycle commands (reimport, restore, rotate, revoke) share at the CLI edge: the
 * escrow/opener inputs (their flags are declared in specs/shared.ts, ESCROW_INPUT), the target with a
 * KMS request-id log, the journal, and the transcript entry appended after every ceremony (whether it
 * succeeded or not).
 */
import * as fs from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { KmsByokError } from '../core/errors.js';
import { recipientOfIdentity, renewalScopeError, unattendedOpening, type EscrowOpener } from '../escrow/index.js';
import type { LifecycleDeps, WrappingOverride } from '../ceremony/shared.js';
import { parseWrappingAlgorithm, parseWrappingKeySpec } from '../material/key-specs.js';
import { TRANSCRIPT_TAG, type TranscriptRecord } from '../records/transcript.js';
import type { KmsPort } from '../kms/port.js';
import { appendTranscript, describeFailure, preflightTranscript, transcriptFailure } from '../records/transcript-file.js';
import { assertDirectorySafe } from '../records/safe-files.js';
import { str, strs, bool, type Parsed } from './args.js';
import { say, type Io } from './io.js';
import { describeCaller, openTarget, type Target } from './target.js';
import { consumeHandover, readOpener } from './escrow-inputs.js';
import { notify, type NotifyDocument } from '../records/notify.js';
import { errorDocument, SCHEMA_VERSION } from './documents.js';
import { fileEscrowStore, keyIdOf, latestEscrow, loadEscrowRef, openJournal, operatorName, type CliJournal, type EscrowStoreOptions } from './context.js';
import { findLatestVersion } from '../escrow/file-store.js';
/** Flags that do not shape a ceremony (secrets' files, output, audit, pacing): left out of a journal's inputs. */
const NOT_INPUTS = new Set(['identity', 'share', 'passphrase-file', 'json', 'help', 'resume', 'discard-journal', 'notify-command', 'transcript', 'read-timeout', 'yes', 'reason']);

/**
 * The inputs of a lifecycle invocation that a journal must match to be resumed (docs/lifecycle.md,
 * "Journals"): the ceremony, the subject as given, and every flag that shapes it.
 */
export function ceremonyInputs(ceremony: string, subject: string, p: Parsed): Record<string, string> {
  const out: Record<string, string> = { ceremony, subject, positionals: p.positionals.join(' ') };
  for (const [k, v] of Object.entries(p.values)) {
    if (NOT_INPUTS.has(k) || v === undefined || v === false) continue;
    out[`--${k}`] = Array.isArray(v) ? v.join(',') : String(v);
  }
  return out;
}

/** The command line of an invocation, for hints (shell-quoted where needed). */
export function commandLine(ceremony: string, p: Parsed): string {
  const q = (x: string) => (/^[\w@%+=:,./-]+$/.test(x) ? x : `'${x.replace(/'/g, `'\\''`)}'`);
  const verb = ceremony.replace(/-(in-place|new-key)$/, '');
  const parts = ['kms-byok', verb, ...p.positionals.map(q)];
  for (const [k, v] of Object.entries(p.values)) {
    if (v === undefined || v === false || k === 'discard-journal') continue;
    if (v === true) parts.push(`--${k}`);
    else for (const x of Array.isArray(v) ? v : [v]) parts.push(`--${k}`, q(x));
  }
  return parts.join(' ');
}

export function escrowDirOf(p: Parsed, io: Io): string {
  const file = str(p, 'escrow');
  if (file !== undefined) return dirname(resolve(io.cwd, file));
  return resolve(io.cwd, str(p, 'escrow-dir') ?? 'escrow');
}

/** The opener from --identity / --passphrase-file / --share, or undefined when none is given. */
export async function optionalOpener(p: Parsed, io: Io): Promise<EscrowOpener | undefined> {
  const shares = strs(p, 'share');
  if (strs(p, 'identity').length === 0 && str(p, 'passphrase-file') === undefined && shares.length === 0) return undefined;
  return readOpener(io, { identities: strs(p, 'identity'), passphraseFile: str(p, 'passphrase-file'), shares, escrowDir: escrowDirOf(p, io) });
}

/**
 * Custody ceremonies (restore, rotate, revoke) never open through a renewal seal (docs/custody.md,
 * "Renewal seals"). When the escrow is known before KMS is asked (--escrow FILE, or a key id's latest
 * version) and the identities given are a renewal seal's holder without the custodians' shares, the
 * command is refused here: exit 2, nothing sent to KMS. (The open itself refuses too, for aliases.)
 */
export async function assertCustodyOpener(p: Parsed, io: Io, keys: string[], opener: EscrowOpener | undefined): Promise<void> {
  if (opener === undefined || !('identities' in opener)) return;
  const file = str(p, 'escrow');
  for (const key of keys) {
    const id = keyIdOf(key);
    const ref = file !== undefined ? await loadEscrowRef(resolve(io.cwd, file)) : id !== undefined ? await latestEscrow(escrowDirOf(p, io), id) : undefined;
    if (ref === undefined) continue;
    const sidecar = ref.sidecar;
    const holders = new Set(sidecar.files.filter((f) => f.role === 'renewal' && f.holder !== undefined).map((f) => f.holder!.recipient));
    if (holders.size === 0) continue;
    const mine = new Set<string>();
    for (const i of opener.identities) mine.add(await recipientOfIdentity(i).catch(() => ''));
    if (![...mine].some((r) => holders.has(r))) continue;
    const custodiansOnly = { ...sidecar, files: sidecar.files.filter((f) => f.role !== 'renewal') };
    if (unattendedOpening(custodiansOnly, { recipients: mine }).opens === true) continue;
    const e = renewalScopeError(sidecar.files.find((f) => f.role === 'renewal')!.name.replace(/\.renewal-[0-9]+\.age$/, '.age'));
    throw new KmsByokError(e.code, e.message, { ...(e.hint ? { hint: e.hint } : {}), localInput: true });
  }
}

/** Transcript fields naming the handed-over shares a ceremony was opened with (docs/custody.md). */
function handoverFields(opener: EscrowOpener | undefined): TranscriptRecord['fields'] {
  if (opener === undefined || !('handedOver' in opener) || opener.claims.length === 0) return [];
  return [['handed over', opener.claims.map((c) => `${c.role} ${c.index}${c.holder.label ? ` (${c.holder.label})` : ''} check value ${c.checkValues.join(', ')} to one-time ${c.to.slice(0, 12)}…`)]];
}

/**
 * `--wrapping-algorithm` / `--wrapping-key-spec` of a lifecycle ceremony, checked as names before
 * anything reaches KMS (exit 2); whether the key's spec can use them is known once it is described.
 */
export function wrappingOverrideOf(p: Parsed): WrappingOverride {
  const alg = str(p, 'wrapping-algorithm');
  const spec = str(p, 'wrapping-key-spec');
  return {
    ...(alg !== undefined ? { WrappingAlgorithm: parseWrappingAlgorithm(alg) } : {}),
    ...(spec !== undefined ? { WrappingKeySpec: parseWrappingKeySpec(spec) } : {}),
  };
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
    /** The result as its `--json` document (src/cli/documents.ts): what the notify hook gets as `result`. */
    document?: (result: T) => object;
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
  const wrapping = wrappingOverrideOf(p);
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
  const invocation = { inputs: ceremonyInputs(c.ceremony, c.subject, p), command: commandLine(c.ceremony, p), discard: bool(p, 'discard-journal') };
  // A journal whose name is known without KMS (a key id, or a literal subject) is checked against
  // this invocation's inputs before anything is sent to KMS.
  const early = keyIdOf(c.subject) ?? (c.literalSubject || !c.subject.startsWith('alias/') ? c.subject : undefined);
  let opened: CliJournal | undefined = early !== undefined ? await openJournal(io, escrowDir, c.ceremony, early, invocation) : undefined;
  const target = await openTarget(p, io, { onRequest: (op, id) => requests.push(`${op} ${id ?? '(no request id)'}`) });
  let subject = early ?? c.subject;
  try {
    if (opened === undefined) {
      // The journal is named by key id, so `alias/x` and the key's id or ARN find the same one.
      subject = await target.kms.describeKey(c.subject).then((k) => k.KeyId, () => c.subject);
      if (escrowNeeded && keyIdOf(subject) !== undefined) await assertEscrowPresent(escrowDir, keyIdOf(subject), escrowNeeded);
      opened = await openJournal(io, escrowDir, c.ceremony, subject, invocation);
    }
  } catch (e) {
    await target.close();
    throw e;
  }
  const journal: CliJournal = opened;
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
        wrapping,
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
    // Hand-over files are good for one ceremony: the one-time identities they used go now.
    await consumeHandover(c.opener, io);
    return result;
  } catch (e) {
    failure = e;
    throw e;
  } finally {
    let unrecorded: unknown;
    if (result === undefined || !c.quiet?.(result)) {
      try {
        const appended = await transcriptEntry();
        // The head is anchored on the keys the ceremony touched, where a rewriter must reach too.
        if (result !== undefined) await anchorTranscriptHead(io, target.kms, touchedKeyArns(result), appended.head);
      } catch (e) {
        unrecorded = e;
      }
    }
    await target.close();
    const hook = str(p, 'notify-command');
    if (hook !== undefined) await notify(io, hook, notifyDocument(c.ceremony, result !== undefined && c.document ? c.document(result) : result, failure));
    if (unrecorded !== undefined) {
      // A ceremony without its record failed as a record (exit 1), after saying what KMS did; one
      // that failed anyway keeps its own error, and the missing entry is said on stderr.
      if (failure === undefined) throw transcriptFailure(transcriptPath, c.outcome(result as T), unrecorded);
      say(io, 'error', `the transcript entry of this failed ${c.ceremony} could not be written: ${describeFailure(unrecorded)}`);
    }
  }

  async function transcriptEntry(): Promise<{ head: string }> {
    const outcome =
      result !== undefined
        ? c.outcome(result)
        : failure instanceof KmsByokError
          ? `failed: ${failure.code}: ${failure.message} (journal ${journal.path} lets a re-run resume)`
          : `failed: ${failure instanceof Error ? failure.message : String(failure)}`;
    return appendTranscript(io, transcriptPath, {
      ceremony: c.ceremony,
      time: started.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      outcome,
      fields: [
        ['operator', operatorName()],
        ...handoverFields(c.opener),
        ['AWS caller', describeCaller(await target.caller())],
        ['target', target.label],
        ...c.record(result),
        ...(await escrowFacts(escrowDir, (result !== undefined ? c.keyOf?.(result) : undefined) ?? keyIdOf(subject))),
        ['journal', journal.path],
        ['KMS requests', requests],
      ],
    });
  }
}

/** The key ARNs a ceremony's result names (the key, and for a rotation to a new key the old one too). */
export function touchedKeyArns(result: unknown): string[] {
  const r = result as { keyArn?: unknown; oldKeyArn?: unknown };
  return [r.keyArn, r.oldKeyArn].filter((a): a is string => typeof a === 'string' && a.startsWith('arn:'));
}

/**
 * Writes the transcript's chain head to the tag `kms-byok:transcript-head` of each key (docs/lifecycle.md,
 * "Ceremony transcript"), and prints it for the custodians. A tag that cannot be written (e.g. no
 * kms:TagResource) is a warning: the entry itself is written; `transcript verify --against-kms` then
 * reports the key as not anchored.
 */
export async function anchorTranscriptHead(io: Io, kms: KmsPort, keyArns: string[], head: string): Promise<void> {
  for (const arn of keyArns) {
    try {
      await kms.tagResource(arn, [{ TagKey: TRANSCRIPT_TAG, TagValue: head }]);
      say(io, 'note', `transcript head ${head} anchored on ${arn} (tag ${TRANSCRIPT_TAG}); custodians: note it with the ceremony's check value`);
    } catch (e) {
      say(io, 'warning', `could not anchor the transcript head on ${arn}: ${e instanceof KmsByokError ? `${e.code}: ${e.message}` : String(e)} (kms:TagResource is needed; kms-byok policy grants it)`);
    }
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
  throw needs === true ? (await import('../ceremony/shared.js')).escrowNotFound(problem) : await needs.refuse(problem);
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
    [
      'renewal seals',
      ref.sidecar.files
        .filter((f) => f.role === 'renewal' && f.holder !== undefined)
        .map((f) => `${f.holder!.label ?? 'scheduler'} ${f.holder!.recipient.slice(0, 12)}…${f.holder!.recipient.slice(-6)} (opens the whole escrow alone, for unattended renewal)`),
    ],
    ['check values', ref.sidecar.materials.map((x) => `material ${x.index}: ${x.checkValue}${x.keyMaterialId ? ` (KeyMaterialId ${x.keyMaterialId})` : ''}`)],
    [`escrow v${m.escrowVersion} files (SHA-256)`, ref.sidecar.files.map((f) => `${f.name} ${f.sha256}`)],
  ];
}

/** The transcript's edge lives in `transcript-file.ts`; re-exported for the commands that import it from here. */
export { appendTranscript, preflightTranscript, transcriptFailure } from '../records/transcript-file.js';

/** The transcript file of a ceremony: --transcript, else `<escrow dir>/transcript.md`. */
export function transcriptPathOf(p: Parsed, io: Io, escrowDir: string): string {
  const t = str(p, 'transcript');
  return t ? resolve(io.cwd, t) : resolve(escrowDir, 'transcript.md');
}

/**
 * The hook's document (docs/schemas/notify.schema.json): the result as the `--json` document shapes
 * it, or the error object of the JSON error document.
 */
export function notifyDocument(ceremony: string, result: unknown, failure: unknown): NotifyDocument {
  const doc: NotifyDocument = { schemaVersion: SCHEMA_VERSION, ceremony, ok: result !== undefined, time: new Date().toISOString() };
  if (result !== undefined) doc.result = result;
  else doc.error = errorDocument(failure).error;
  return doc;
}
