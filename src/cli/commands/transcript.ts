/**
 * `kms-byok transcript verify FILE`: checks the ceremony transcript's hash chain. Exit 3 when an entry
 * was edited, removed or reordered (or, with --head, when entries were removed from the end).
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ExitCode, KmsByokError, asLocalInputError } from '../../core/errors.js';
import { checkAnchors, parseEntries, transcriptEntries, verifyTranscript } from '../../records/transcript.js';
import { transcriptHeadTags } from '../transcript-heads.js';
import { openTarget } from '../target.js';
import { bool, str, type Parsed } from '../args.js';
import { groupHelpText, helpText, parseCommand } from '../command-spec.js';
import { TRANSCRIPT, TRANSCRIPT_RENDER, TRANSCRIPT_VERIFY } from '../specs/transcript.js';
import { say, type Io } from '../io.js';
import { printRows } from '../render.js';
import { printDocument } from '../documents.js';

export async function transcript(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    io.stdout.write(groupHelpText(TRANSCRIPT));
    return sub === undefined ? ExitCode.usage : ExitCode.ok;
  }
  if (sub === 'render') return render(rest, io);
  if (sub !== 'verify') throw new KmsByokError('ERR_USAGE', `unknown transcript command "${sub}"`, { hint: 'run kms-byok transcript --help' });
  const p = parseCommand(rest, TRANSCRIPT_VERIFY);
  if (bool(p, 'help')) {
    io.stdout.write(helpText(TRANSCRIPT_VERIFY));
    return ExitCode.ok;
  }
  const file = p.positionals[0];
  if (file === undefined || p.positionals.length > 1) {
    throw new KmsByokError('ERR_USAGE', 'give exactly one transcript FILE', { hint: 'kms-byok transcript verify escrow/transcript.md' });
  }
  const head = str(p, 'head');
  if (head !== undefined && !/^[0-9a-f]{64}$/.test(head)) throw new KmsByokError('ERR_INVALID_ARGUMENT', `invalid --head "${head}": expected 64 lower-case hex`, { hint: 'give the head hash printed after the last ceremony' });
  let text: string;
  try {
    text = await readFile(resolve(io.cwd, file), 'utf8');
  } catch (e) {
    throw new KmsByokError('ERR_FILE_READ', `cannot read ${file} (${(e as { code?: string }).code ?? 'error'})`, { hint: 'check the path' });
  }
  const check = verifyTranscript(text, head);
  if (check.foreign) {
    throw new KmsByokError('ERR_NOT_A_TRANSCRIPT', `${file} is not a kms-byok transcript`, {
      hint: 'give the transcript.md a ceremony wrote (in the escrow directory, or the --transcript FILE it was given)',
    });
  }
  const anchors = check.ok && bool(p, 'against-kms') ? await anchorsInKms(p, io, text) : undefined;
  if (bool(p, 'json')) {
    const { ok, foreign: _foreign, ...rest } = check;
    printDocument(io, { path: resolve(io.cwd, file), intact: ok, ...rest, ...(anchors ? { anchors } : {}) });
  } else {
    printRows(io, [
      ['transcript', file],
      ['entries', String(check.entries)],
      ['head', check.head],
      ['result', check.ok ? 'ok: the chain is intact' : `BROKEN at entry ${check.broken!.entry}: ${check.broken!.reason}`],
      ...(anchors
        ? ([
            ['anchored in KMS', `${anchors.anchored.length} key(s) match their kms-byok:transcript-head tag`],
            ['not anchored', anchors.unanchored.length > 0 ? anchors.unanchored.join(', ') : undefined],
            ['MISMATCHED', anchors.mismatched.length > 0 ? anchors.mismatched.map((m) => `${m.keyArn} (tag ${m.tag})`).join(', ') : undefined],
          ] as [string, string | undefined][])
        : []),
    ]);
  }
  if (!check.ok) {
    say(io, 'error', `the transcript chain is broken at entry ${check.broken!.entry}: ${check.broken!.reason}`);
    say(io, 'hint', 'compare with the auditors\' copy; the entries before it are intact');
    return ExitCode.attention;
  }
  if (anchors && anchors.mismatched.length > 0) {
    say(io, 'error', `${anchors.mismatched.length} key(s) carry a transcript head that names no entry of this chain: the transcript was rewritten or cut short`);
    say(io, 'hint', "compare with the auditors' copy; CloudTrail TagResource events show when each head was written");
    return ExitCode.attention;
  }
  if (anchors && anchors.unanchored.length > 0) say(io, 'warning', `${anchors.unanchored.length} key(s) carry no transcript head (ceremonies before anchoring, or a tag that could not be written)`);
  return ExitCode.ok;
}

/** Each key ARN the transcript names, with the head its tag holds (undefined: no tag). */
async function anchorsInKms(p: Parsed, io: Io, text: string): Promise<ReturnType<typeof checkAnchors>> {
  const arns = [...new Set(transcriptEntries(text).flatMap((e) => e.keyArns))];
  const target = await openTarget(p, io);
  try {
    const tags = await transcriptHeadTags(target.kms, arns);
    return checkAnchors(text, tags);
  } finally {
    await target.close();
  }
}

/**
 * `kms-byok transcript render FILE --html`: the printable ceremony record (records/transcript-html.ts).
 * Reads only local files; a broken chain is refused (exit 3) rather than printed for signature.
 */
async function render(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(argv, TRANSCRIPT_RENDER);
  if (bool(p, 'help')) {
    io.stdout.write(helpText(TRANSCRIPT_RENDER));
    return ExitCode.ok;
  }
  const file = p.positionals[0];
  if (file === undefined || p.positionals.length > 1) {
    throw new KmsByokError('ERR_USAGE', 'give exactly one transcript FILE', { hint: 'kms-byok transcript render escrow/transcript.md --html --out ceremony.html' });
  }
  if (!bool(p, 'html')) throw new KmsByokError('ERR_USAGE', 'say which format: --html', { hint: `kms-byok transcript render ${file} --html [--out FILE]` });
  const ceremonyText = str(p, 'ceremony');
  if (ceremonyText !== undefined && !/^[1-9]\d{0,6}$/.test(ceremonyText)) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `invalid --ceremony "${ceremonyText}": expected an entry number (1, 2, …)`, { hint: `kms-byok transcript verify ${file} counts the entries` });
  }
  const out = str(p, 'out');
  let text: string;
  try {
    text = await readFile(resolve(io.cwd, file), 'utf8');
  } catch (e) {
    throw new KmsByokError('ERR_FILE_READ', `cannot read ${file} (${(e as { code?: string }).code ?? 'error'})`, { hint: 'check the path' });
  }
  const check = verifyTranscript(text);
  if (check.foreign) throw new KmsByokError('ERR_NOT_A_TRANSCRIPT', `${file} is not a kms-byok transcript`, { hint: 'give the transcript.md a ceremony wrote' });
  if (!check.ok) {
    say(io, 'error', `the transcript chain is broken at entry ${check.broken!.entry}: ${check.broken!.reason}; nothing was rendered`);
    say(io, 'hint', `kms-byok transcript verify ${file} shows where; a record for signature is printed only from an intact chain`);
    return ExitCode.attention;
  }
  const { ACKNOWLEDGEMENT, renderHtml } = await import('../../records/transcript-html.js');
  const entries = parseEntries(text);
  let ceremonies = entries.filter((x) => x.ceremony !== ACKNOWLEDGEMENT);
  if (ceremonyText !== undefined) {
    const n = Number(ceremonyText);
    if (n > entries.length) throw new KmsByokError('ERR_INVALID_ARGUMENT', `--ceremony ${n}: the transcript has ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}`, { hint: `give 1 to ${entries.length}` });
    ceremonies = [entries[n - 1]!];
  }
  if (ceremonies.length === 0) throw new KmsByokError('ERR_INVALID_ARGUMENT', `${file} records no ceremony to render`, { hint: 'run a ceremony first, or give --ceremony N' });
  const escrowDir = str(p, 'escrow-dir');
  const custodians = escrowDir === undefined ? undefined : await custodiansOf(resolve(io.cwd, escrowDir), ceremonies.map((c) => c.fields.find(([k]) => k === 'key')?.[1]));
  const html = renderHtml({ entries, ceremonies, head: check.head!, source: file, ...(custodians ? { custodians } : {}), generatedAt: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') });
  if (out === undefined) {
    io.stdout.write(html);
    return ExitCode.ok;
  }
  const { createExclusive } = await import('../../records/safe-files.js');
  await createExclusive(resolve(io.cwd, out), html, 'the ceremony record', 0o644).catch((e: unknown) => {
    if (e instanceof KmsByokError) throw asLocalInputError(e);
    const code = (e as { code?: string }).code;
    throw new KmsByokError(code === 'EEXIST' ? 'ERR_INVALID_ARGUMENT' : 'ERR_FILE_READ', code === 'EEXIST' ? `--out ${out} already exists` : `cannot create ${out} (${code ?? 'error'})`, {
      hint: code === 'EEXIST' ? 'the record is never overwritten: give --out a new file' : 'give --out a new file in a writable directory',
    });
  });
  say(io, null, `✓ wrote the ceremony record ${out} (${ceremonies.length} ceremon${ceremonies.length === 1 ? 'y' : 'ies'}; chain head ${check.head})`);
  return ExitCode.ok;
}

/** Custodians (label, recipient) of each key's latest escrow in `dir`, by key ARN. */
async function custodiansOf(dir: string, keys: (string | string[] | undefined)[]): Promise<Map<string, { label?: string; recipient: string }[]>> {
  const { latestEscrow } = await import('../context.js');
  const found = new Map<string, { label?: string; recipient: string }[]>();
  for (const arn of new Set(keys.filter((k): k is string => typeof k === 'string' && k.startsWith('arn:')))) {
    const ref = await latestEscrow(dir, arn.split('/').pop()!).catch(() => undefined);
    if (ref) found.set(arn, ref.sidecar.manifest.custodians.recipients.map((r) => ({ ...(r.label ? { label: r.label } : {}), recipient: r.recipient })));
  }
  return found;
}
