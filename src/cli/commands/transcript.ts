/**
 * `kms-byok transcript verify FILE`: checks the ceremony transcript's hash chain. Exit 3 when an entry
 * was edited, removed or reordered (or, with --head, when entries were removed from the end).
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ExitCode, KmsByokError } from '../../core/errors.js';
import { verifyTranscript } from '../../ceremony/transcript.js';
import { bool, str } from '../args.js';
import { groupHelpText, helpText, parseCommand } from '../command-spec.js';
import { TRANSCRIPT, TRANSCRIPT_VERIFY } from '../specs/transcript.js';
import { say, type Io } from '../io.js';
import { printRows } from '../render.js';
import { printDocument } from '../documents.js';

export async function transcript(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    io.stdout.write(groupHelpText(TRANSCRIPT));
    return sub === undefined ? ExitCode.usage : ExitCode.ok;
  }
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
  if (bool(p, 'json')) {
    const { ok, foreign: _foreign, ...rest } = check;
    printDocument(io, { path: resolve(io.cwd, file), intact: ok, ...rest });
  }
  else printRows(io, [['transcript', file], ['entries', String(check.entries)], ['head', check.head], ['result', check.ok ? 'ok: the chain is intact' : `BROKEN at entry ${check.broken!.entry}: ${check.broken!.reason}`]]);
  if (!check.ok) {
    say(io, 'error', `the transcript chain is broken at entry ${check.broken!.entry}: ${check.broken!.reason}`);
    say(io, 'hint', 'compare with the auditors\' copy; the entries before it are intact');
    return ExitCode.attention;
  }
  return ExitCode.ok;
}
