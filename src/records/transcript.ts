/**
 * The ceremony transcript: an append-only Markdown record for auditors. Each entry ends with a marker
 * line carrying the SHA-256 of the previous entry and of itself:
 *
 *     <!-- kms-byok-entry prev=<64 hex | genesis> sha256=<64 hex> -->
 *
 * where sha256 = SHA-256(prev ‖ "\n" ‖ body) and body is the entry's Markdown from its `## ` heading
 * to the marker. Editing or removing an entry breaks the chain at the next one; text outside entries is
 * refused. Removing the LAST entries cannot be seen from the file alone: compare the head hash
 * (printed after every append) with one recorded elsewhere (`verify` accepts it as `expectHead`).
 * Pure: the CLI reads and appends the file.
 */
import { createHash } from 'node:crypto';
import { KmsByokError } from '../core/errors.js';

export const TRANSCRIPT_HEADER = '# kms-byok ceremony transcript\n\nAppend-only. Each entry is chained to the previous one by SHA-256; check with `kms-byok transcript verify FILE`.\n';
const GENESIS = 'genesis';
const MARKER = /<!-- kms-byok-entry prev=(genesis|[0-9a-f]{64}) sha256=([0-9a-f]{64}) -->\n/g;

/** One ceremony's record. Values are printed as given; nothing secret may be passed in. */
export interface TranscriptRecord {
  ceremony: string;
  time: string;
  outcome: string;
  fields: [string, string | string[] | undefined][];
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Markdown-safe single line (no marker injection, no newlines). */
function clean(v: string): string {
  return v.replace(/[\r\n]+/g, ' ').replace(/<!--|-->/g, '');
}

export function renderBody(r: TranscriptRecord): string {
  const lines = [`## ${clean(r.time)} ${clean(r.ceremony)}`, '', `- **outcome**: ${clean(r.outcome)}`];
  for (const [k, v] of r.fields) {
    if (v === undefined || (Array.isArray(v) && v.length === 0)) continue;
    if (Array.isArray(v)) {
      lines.push(`- **${clean(k)}**:`);
      for (const x of v) lines.push(`  - ${clean(x)}`);
    } else lines.push(`- **${clean(k)}**: ${clean(v)}`);
  }
  return `${lines.join('\n')}\n\n`;
}

/** The text to append to a transcript whose current head is `prev` (undefined: empty file). */
export function appendEntry(existing: string, r: TranscriptRecord): { text: string; head: string } {
  const check = verifyTranscript(existing);
  if (check.foreign) {
    throw new KmsByokError('ERR_NOT_A_TRANSCRIPT', 'the file is not a kms-byok transcript: nothing was appended to it', {
      hint: 'give --transcript a new file, or the transcript.md a ceremony wrote',
    });
  }
  if (!check.ok) {
    throw new KmsByokError('ERR_TRANSCRIPT_FORMAT', `the transcript's chain is broken at entry ${check.broken!.entry}: ${check.broken!.reason}`, {
      hint: 'kms-byok transcript verify FILE shows where; keep the damaged file for the auditors and start a new one with --transcript',
    });
  }
  const prev = check.head ?? GENESIS;
  const body = renderBody(r);
  const head = sha256(`${prev}\n${body}`);
  const prefix = existing.length === 0 ? TRANSCRIPT_HEADER : '';
  return { text: `${prefix}\n${body}<!-- kms-byok-entry prev=${prev} sha256=${head} -->\n`, head };
}

export interface TranscriptCheck {
  ok: boolean;
  /**
   * The text is not a kms-byok transcript at all: no header, no entry marker, no entry. A transcript
   * whose header or markers were damaged still has the others, and is `broken` instead.
   */
  foreign?: true;
  entries: number;
  /** SHA-256 of the last intact entry (undefined when none). */
  head?: string;
  /** 1-based entry where the chain breaks, and why. */
  broken?: { entry: number; reason: string };
}

/** What a damaged transcript still shows: its title, an entry marker, an entry's outcome line. */
const TRANSCRIPT_TRACES = [/^# kms-byok/, /^# kms-byok ceremony transcript\s*$/m, /<!-- kms-byok-entry /, /^- \*\*outcome\*\*: /m];

/** No trace of a transcript, and not a transcript cut short inside its header. */
function isForeign(text: string): boolean {
  return !TRANSCRIPT_HEADER.startsWith(text) && !TRANSCRIPT_TRACES.some((re) => re.test(text));
}

/**
 * Checks every entry's hash and link; `expectHead` also detects removed trailing entries. A text that
 * is no transcript at all is `foreign` (not `broken`) — unless `expectHead` says a transcript with
 * entries was there: then it was replaced, and that is `broken`.
 */
export function verifyTranscript(text: string, expectHead?: string): TranscriptCheck {
  if (text.length === 0) return expectHead ? { ok: false, entries: 0, broken: { entry: 1, reason: 'the transcript is empty' } } : { ok: true, entries: 0 };
  if (!text.startsWith(TRANSCRIPT_HEADER)) {
    if (isForeign(text)) {
      return expectHead ? { ok: false, entries: 0, broken: { entry: 1, reason: 'the transcript was replaced by text that is no transcript' } } : { ok: false, foreign: true, entries: 0 };
    }
    return { ok: false, entries: 0, broken: { entry: 0, reason: 'the header is missing or changed' } };
  }
  let pos = TRANSCRIPT_HEADER.length;
  let prev = GENESIS;
  let entries = 0;
  let head: string | undefined;
  MARKER.lastIndex = pos;
  for (let m = MARKER.exec(text); m !== null; m = MARKER.exec(text)) {
    entries++;
    const segment = text.slice(pos, m.index);
    const fail = (reason: string): TranscriptCheck => ({ ok: false, entries: entries - 1, ...(head ? { head } : {}), broken: { entry: entries, reason } });
    if (!segment.startsWith('\n## ')) return fail('text outside an entry, or an entry without its heading');
    const body = segment.slice(1);
    if (m[1] !== prev) return fail(`it links to ${m[1]!.slice(0, 12)}…, but the previous entry is ${prev.slice(0, 12)}… (an entry was removed or reordered)`);
    if (sha256(`${prev}\n${body}`) !== m[2]) return fail('its content does not match its SHA-256 (the entry was edited)');
    prev = m[2]!;
    head = prev;
    pos = m.index + m[0].length;
  }
  if (text.slice(pos).length > 0) {
    return { ok: false, entries, ...(head ? { head } : {}), broken: { entry: entries + 1, reason: 'text after the last entry is not chained (an entry was edited or its marker removed)' } };
  }
  if (expectHead !== undefined && head !== expectHead) {
    return { ok: false, entries, ...(head ? { head } : {}), broken: { entry: entries, reason: `the head is ${head ?? 'none'}, expected ${expectHead} (entries were removed from the end)` } };
  }
  return { ok: true, entries, ...(head ? { head } : {}) };
}

/** The tag a ceremony writes on each key it touched: the transcript's chain head after its entry. */
export const TRANSCRIPT_TAG = 'kms-byok:transcript-head';

const KEY_ARN = /arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/(?:mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/g;

/** Every entry of an intact chain: its SHA-256 and the key ARNs it names (empty when the chain is broken). */
export function transcriptEntries(text: string): { sha256: string; keyArns: string[] }[] {
  if (!verifyTranscript(text).ok) return [];
  const out: { sha256: string; keyArns: string[] }[] = [];
  let pos = TRANSCRIPT_HEADER.length;
  MARKER.lastIndex = pos;
  for (let m = MARKER.exec(text); m !== null; m = MARKER.exec(text)) {
    out.push({ sha256: m[2]!, keyArns: [...new Set(text.slice(pos, m.index).match(KEY_ARN) ?? [])] });
    pos = m.index + m[0].length;
  }
  return out;
}

/**
 * Checks the chain against the heads KMS holds (`kms-byok transcript verify --against-kms`): each
 * key's tag must name an entry of this chain that names the key. A rewritten (re-chained) transcript,
 * or one cut short after the anchored entry, names no such entry. Keys without the tag are reported
 * as not anchored (ceremonies before anchoring existed, or a tag that could not be written).
 */
export function checkAnchors(text: string, tags: ReadonlyMap<string, string | undefined>): { anchored: string[]; unanchored: string[]; mismatched: { keyArn: string; tag: string }[] } {
  const entries = transcriptEntries(text);
  const anchored: string[] = [];
  const unanchored: string[] = [];
  const mismatched: { keyArn: string; tag: string }[] = [];
  for (const [keyArn, tag] of tags) {
    if (tag === undefined) unanchored.push(keyArn);
    else if (entries.some((e) => e.sha256 === tag && e.keyArns.includes(keyArn))) anchored.push(keyArn);
    else mismatched.push({ keyArn, tag });
  }
  return { anchored, unanchored, mismatched };
}

/**
 * The recipients that acknowledged receipt of an escrow version (`escrow acknowledge` entries naming
 * `<escrowId> version <N>`), read from an intact chain only: a broken transcript proves nothing.
 */
export function acknowledgedRecipients(text: string, escrowId: string, escrowVersion: number): Set<string> {
  const out = new Set<string>();
  if (!verifyTranscript(text).ok) return out;
  for (const entry of text.split('\n## ').slice(1)) {
    if (!/^\S+ custodian acknowledgement\n/.test(entry)) continue;
    if (!entry.includes(`\n- **escrow**: ${escrowId} version ${escrowVersion}\n`)) continue;
    const r = /\n- \*\*recipient\*\*: (age1[0-9a-z]+)\n/.exec(entry);
    if (r) out.add(r[1]!);
  }
  return out;
}

/** One entry of an intact chain, read back: its heading, outcome, fields in order, and its link. */
export interface ParsedEntry {
  /** 1-based, as `transcript verify` counts. */
  number: number;
  time: string;
  ceremony: string;
  outcome: string;
  fields: [string, string | string[]][];
  prev: string;
  sha256: string;
}

/** The entries of an intact chain (`verifyTranscript(text).ok`), parsed back from `renderBody`'s Markdown. */
export function parseEntries(text: string): ParsedEntry[] {
  if (!verifyTranscript(text).ok) return [];
  const out: ParsedEntry[] = [];
  let pos = TRANSCRIPT_HEADER.length;
  MARKER.lastIndex = pos;
  for (let m = MARKER.exec(text); m !== null; m = MARKER.exec(text)) {
    const lines = text.slice(pos, m.index).split('\n').filter((l) => l.length > 0);
    pos = m.index + m[0].length;
    const heading = /^## (\S+) (.*)$/.exec(lines[0] ?? '');
    const entry: ParsedEntry = { number: out.length + 1, time: heading?.[1] ?? '', ceremony: heading?.[2] ?? '', outcome: '', fields: [], prev: m[1]!, sha256: m[2]! };
    for (const line of lines.slice(1)) {
      const field = /^- \*\*(.+?)\*\*:(?: (.*))?$/.exec(line);
      if (field) {
        if (field[1] === 'outcome' && entry.outcome === '' && entry.fields.length === 0) entry.outcome = field[2] ?? '';
        else entry.fields.push([field[1]!, field[2] === undefined ? [] : field[2]]);
        continue;
      }
      const item = /^ {2}- (.*)$/.exec(line);
      const last = entry.fields[entry.fields.length - 1];
      if (item && last && Array.isArray(last[1])) last[1].push(item[1]!);
    }
    out.push(entry);
  }
  return out;
}
