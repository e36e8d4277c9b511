/**
 * `kms-byok retire KEY [--disable | --schedule-deletion --pending-window 7d..30d | --cancel | --enable]`:
 * usage evidence, then one retirement step (src/ceremony/retire.ts; docs/audit.md "Retire"). Flag
 * mistakes (two steps, a window of 6 or 31 days, --force without --reason, no confirmation possible)
 * are exit 2 before any KMS request. Each step that reached KMS is a transcript entry with its KMS
 * request ids, so `kms-byok audit` explains it.
 */
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { ExitCode, KmsByokError } from '../../core/errors.js';
import { DAY_MS, parseDuration } from '../../core/time.js';
import type { RetireAction, RetireResult } from '../../ceremony/retire.js';
import { bool, missing, str, strs } from '../args.js';
import { helpText, parseCommand } from '../command-spec.js';
import { RETIRE } from '../specs/retire.js';
import { say, type Io } from '../io.js';
import { printRows } from '../render.js';
import { printDocument } from '../documents.js';
import { openTarget } from '../target.js';
import { openCloudTrail } from '../trail-target.js';
import { appendTranscript, preflightTranscript } from '../../records/transcript-file.js';
import { fileEscrowStore, keyIdOf, latestEscrow, operatorName } from '../context.js';
import { optionalOpener } from '../ceremony-run.js';
import { describeUsage } from '../../ceremony/usage.js';

const STEPS: [flag: string, action: RetireAction][] = [
  ['disable', 'disable'],
  ['schedule-deletion', 'schedule-deletion'],
  ['cancel', 'cancel'],
  ['enable', 'enable'],
];

/** `--pending-window`: whole days 7–30 (`7d`, `30d` or a bare number of days). */
export function parsePendingWindow(text: string | undefined): number {
  if (text === undefined) throw new KmsByokError('ERR_MISSING_INPUT', 'missing --pending-window: how many days KMS waits before deleting the key', { hint: 'give --pending-window 7d to 30d' });
  const m = /^\s*(\d{1,3})\s*d?\s*$/i.exec(text);
  const days = m ? Number(m[1]) : NaN;
  if (!Number.isInteger(days) || days < 7 || days > 30) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `invalid --pending-window "${text}": KMS accepts 7 to 30 days`, { hint: 'e.g. --pending-window 7d (the shortest) or 30d (the longest)' });
  }
  return days;
}

/** One line from `stream` (without its newline); '' at end of input. */
export function readLine(stream: Readable): Promise<string> {
  return new Promise((resolveLine, reject) => {
    let text = '';
    const done = (): void => {
      stream.off('data', onData);
      stream.off('end', done);
      stream.off('error', reject);
      stream.pause();
      resolveLine(text.replace(/\r?\n[\s\S]*$/, ''));
    };
    const onData = (c: Buffer | string): void => {
      text += c.toString();
      if (text.includes('\n')) done();
    };
    stream.on('data', onData);
    stream.once('end', done);
    stream.once('error', reject);
    stream.resume();
  });
}

export async function retire(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(argv, RETIRE, io.env);
  if (bool(p, 'help')) {
    io.stdout.write(helpText(RETIRE));
    return ExitCode.ok;
  }
  if (p.positionals.length !== 1) throw p.positionals.length === 0 ? missing('KEY', 'which key to retire (key id or ARN)') : new KmsByokError('ERR_USAGE', 'retire takes one KEY', { hint: 'run retire once per key' });
  const key = p.positionals[0]!;
  const chosen = STEPS.filter(([flag]) => bool(p, flag));
  if (chosen.length > 1) throw new KmsByokError('ERR_USAGE', `give one step at a time, not ${chosen.map(([f]) => `--${f}`).join(' and ')}`, { hint: 'retire --disable first; --schedule-deletion later' });
  const action: RetireAction = chosen[0]?.[1] ?? 'show';
  const pendingWindowDays = action === 'schedule-deletion' ? parsePendingWindow(str(p, 'pending-window')) : undefined;
  if (action !== 'schedule-deletion' && str(p, 'pending-window') !== undefined) throw new KmsByokError('ERR_USAGE', '--pending-window goes with --schedule-deletion', { hint: 'kms-byok retire KEY --schedule-deletion --pending-window 7d' });
  const quietForMs = parseDuration(str(p, 'quiet-for') ?? '30d', '--quiet-for');
  if (quietForMs > 90 * DAY_MS) throw new KmsByokError('ERR_INVALID_ARGUMENT', `invalid --quiet-for "${str(p, 'quiet-for')}": CloudTrail keeps 90 days`, { hint: 'give at most 90d' });
  const reason = str(p, 'reason')?.trim() || undefined;
  const force = bool(p, 'force');
  if (force && reason === undefined) throw new KmsByokError('ERR_MISSING_INPUT', 'missing --reason: --force overrides a safety check, and the transcript records why', { hint: 'add --reason "why"' });
  const yes = bool(p, 'yes');
  if (action !== 'show' && yes && reason === undefined) throw new KmsByokError('ERR_MISSING_INPUT', 'missing --reason: --yes confirms without typing the key back, and the transcript records why', { hint: `add --reason "why" to --${chosen[0]![0]}` });
  if (action !== 'show' && !yes && !io.interactive) {
    throw new KmsByokError('ERR_MISSING_INPUT', `missing --yes and --reason: --${chosen[0]![0]} asks for confirmation, and there is no terminal`, { hint: 'unattended, pass --yes --reason "why"' });
  }
  const escrowDir = resolve(io.cwd, str(p, 'escrow-dir') ?? 'escrow');
  const transcriptPath = str(p, 'transcript') ? resolve(io.cwd, str(p, 'transcript')!) : resolve(escrowDir, 'transcript.md');
  // A step is recorded: a transcript that is a link or whose chain is broken refuses it before KMS.
  if (action !== 'show') await preflightTranscript(transcriptPath);
  // Scheduling deletion of an EXTERNAL key needs its escrow opened (docs/audit.md, "Retire"); --force
  // does not override that. Refused here, before KMS, when the directory holds an escrow of the key.
  const withoutEscrow = bool(p, 'without-escrow');
  const openerGiven = strs(p, 'identity').length > 0 || str(p, 'passphrase-file') !== undefined || strs(p, 'share').length > 0;
  if (action === 'schedule-deletion' && !withoutEscrow && !openerGiven) {
    const id = keyIdOf(key);
    if (id === undefined || (await latestEscrow(escrowDir, id)) !== undefined) {
      throw new KmsByokError('ERR_MISSING_INPUT', `missing --identity, --passphrase-file or --share: --schedule-deletion of an EXTERNAL key opens its escrow to prove it holds every material`, {
        hint: `pass --identity FILE (or --passphrase-file FILE, --share FILE) to open the escrow of ${key}; --without-escrow deletes without that proof (the material may be gone for good)`,
      });
    }
  }
  if (action !== 'schedule-deletion' && openerGiven) throw new KmsByokError('ERR_USAGE', '--identity, --passphrase-file and --share go with --schedule-deletion', { hint: 'only scheduling deletion opens the escrow' });
  if (withoutEscrow && openerGiven) throw new KmsByokError('ERR_INVALID_COMBINATION', '--without-escrow and an escrow opener (--identity, --passphrase-file, --share) contradict each other', { hint: 'drop one' });
  const opener = action === 'schedule-deletion' ? await optionalOpener(p, io) : undefined;
  if (action === 'schedule-deletion' && withoutEscrow) say(io, 'warning', '--without-escrow: for an EXTERNAL key, if no escrow holds its material, everything encrypted under it is lost for good');

  const requests: string[] = [];
  const dispose = (): void => {
    if (opener && 'passphrase' in opener) opener.passphrase.dispose();
  };
  let target: Awaited<ReturnType<typeof openTarget>>;
  let trail: Awaited<ReturnType<typeof openCloudTrail>>;
  try {
    target = await openTarget(p, io, { onRequest: (op, id) => requests.push(`${op} ${id ?? '(no request id)'}`) });
    trail = await openCloudTrail(p, io, target);
  } catch (e) {
    dispose();
    throw e;
  }
  const started = new Date();
  let confirmed = false;
  let result: RetireResult | undefined;
  let failure: unknown;
  try {
    const { runRetire } = await import('../../ceremony/retire.js');
    result = await runRetire(
      { key, action, quietForMs, force, withoutEscrow, ...(pendingWindowDays !== undefined ? { pendingWindowDays } : {}) },
      {
        kms: target.kms,
        trail,
        now: target.now,
        escrowCoverage: async (k) => (await import('../../ceremony/retire.js')).openedEscrowCoverage(target.kms, k, fileEscrowStore({ dir: escrowDir, ...(opener ? { opener } : {}) }), opener !== undefined),
        progress: (step) => say(io, null, `✓ ${step}`),
        confirm: async (consequences, subject) => {
          for (const c of consequences) say(io, 'warning', c);
          if (!yes) {
            // The key id, or an alias that still names it (a step overridden with --force).
            const accepted = [subject.keyId, ...subject.aliases];
            io.stderr.write(`kms-byok: type ${subject.aliases.length > 0 ? 'the key id or its alias' : 'the key id'} to confirm: `);
            const typed = (await readLine(io.stdin)).trim();
            if (!accepted.includes(typed)) {
              throw new KmsByokError('ERR_NOT_CONFIRMED', 'not confirmed: the typed text is not the key id; nothing was changed', { hint: `type ${subject.keyId} exactly, or pass --yes --reason "why"` });
            }
          }
          confirmed = true;
        },
      },
    );
  } catch (e) {
    failure = e;
    throw e;
  } finally {
    dispose();
    trail.close();
    let unrecorded: unknown;
    if (confirmed) {
      try {
        const appended = await appendTranscript(io, transcriptPath, {
          ceremony: `retire --${chosen[0]![0]}`,
          time: started.toISOString().replace(/\.\d{3}Z$/, 'Z'),
          outcome: result ? `${result.keyId} ${result.stateBefore} → ${result.stateAfter}${result.deletionDate ? ` (deletion ${result.deletionDate})` : ''}` : `failed: ${failure instanceof KmsByokError ? `${failure.code}: ${failure.message}` : String(failure)}`,
          fields: [
            ['operator', operatorName()],
            ['target', target.label],
            ['key', result?.keyArn ?? key],
            ['reason', reason],
            ['overridden checks', result?.overridden],
            ['aliases targeting it', result?.aliases],
            ['usage evidence', result ? describeUsage(result.usage) : undefined],
            ['escrow', result?.escrow.note || undefined],
            ['notes', result?.notes],
            ['KMS requests', requests],
          ],
        });
        // The head is anchored on the key so audit trusts this entry (docs/audit.md, "What audit trusts").
        if (result) await (await import('../ceremony-run.js')).anchorTranscriptHead(io, target.kms, [result.keyArn], appended.head);
      } catch (e) {
        unrecorded = e;
      }
    }
    await target.close();
    if (unrecorded !== undefined) {
      if (failure === undefined) {
        throw new KmsByokError('ERR_TRANSCRIPT', `the step was done (${result?.keyId} is ${result?.stateAfter}) but its transcript entry could not be written: ${unrecorded instanceof Error ? unrecorded.message : String(unrecorded)}`, { hint: `check ${transcriptPath}` });
      }
      say(io, 'error', `the transcript entry of this failed retire could not be written: ${unrecorded instanceof Error ? unrecorded.message : String(unrecorded)}`);
    }
  }
  const r = result!;
  if (bool(p, 'json')) printDocument(io, retireDocument(r));
  else {
    printRows(io, [
      ['key', r.keyArn],
      ['origin', r.origin],
      ['state', r.stateBefore === r.stateAfter ? r.stateAfter : `${r.stateBefore} → ${r.stateAfter}`],
      ['deletion date', r.deletionDate],
      ['aliases', r.aliases.join(', ') || 'none'],
      ['escrow', r.escrow.note || undefined],
    ]);
    for (const line of describeUsage(r.usage)) io.stdout.write(`${line}\n`);
    for (const n of r.notes) say(io, 'note', n);
  }
  for (const o of r.overridden) say(io, 'warning', `check overridden: ${o} (--force/--without-escrow; recorded in the transcript)`);
  return ExitCode.ok;
}

/** The `--json` document (docs/schemas/retire.schema.json). */
export function retireDocument(r: RetireResult): Record<string, unknown> {
  return {
    keyId: r.keyId,
    keyArn: r.keyArn,
    origin: r.origin,
    action: r.action,
    stateBefore: r.stateBefore,
    stateAfter: r.stateAfter,
    ...(r.deletionDate ? { deletionDate: r.deletionDate } : {}),
    aliases: r.aliases,
    usage: r.usage,
    overridden: r.overridden,
    escrow: { applies: r.escrow.applies, covered: r.escrow.covered, ...(r.escrow.path ? { path: r.escrow.path } : {}), note: r.escrow.note },
    notes: r.notes,
  };
}
