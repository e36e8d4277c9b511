/**
 * `kms-byok escrow handover-recipient` and `kms-byok escrow hand-over` (docs/custody.md, "Hand-over"):
 * - handover-recipient (the recovery host): makes a one-time age identity in `<escrow dir>/.handover/`
 *   and prints its recipient;
 * - hand-over (each custodian, on their own machine): opens only their own share or component with
 *   their own identity and re-seals it to that recipient, in a new 0600 file for the host's --share.
 * Neither contacts KMS.
 */
import { resolve } from 'node:path';
import { ExitCode, KmsByokError, asLocalInputError } from '../../core/errors.js';
import { handOver } from '../../escrow/index.js';
import { createHandoverIdentity } from '../../records/handover-identity.js';
import { assertDirectorySafe, createExclusive } from '../../records/safe-files.js';
import { readEscrow } from '../context.js';
import { bool, str, strs } from '../args.js';
import { helpText, parseCommand } from '../command-spec.js';
import { ESCROW_HAND_OVER, ESCROW_HANDOVER_RECIPIENT } from '../specs/escrow.js';
import { say, type Io } from '../io.js';
import { printRows } from '../render.js';
import { printDocument } from '../documents.js';
import { readOpener } from '../escrow-inputs.js';

function isoNow(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export async function handoverRecipient(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(argv, ESCROW_HANDOVER_RECIPIENT);
  if (bool(p, 'help')) {
    io.stdout.write(helpText(ESCROW_HANDOVER_RECIPIENT));
    return ExitCode.ok;
  }
  if (p.positionals.length > 0) throw new KmsByokError('ERR_USAGE', `unexpected argument "${p.positionals[0]}"`, { hint: 'kms-byok escrow handover-recipient --escrow-dir DIR' });
  const dir = resolve(io.cwd, str(p, 'escrow-dir') ?? 'escrow');
  // The one-time identity lives in the escrow directory: only its owner may change it.
  try {
    assertDirectorySafe(dir);
  } catch (e) {
    throw asLocalInputError(e);
  }
  const made = await createHandoverIdentity(dir).catch((e: unknown) => {
    if (e instanceof KmsByokError) throw asLocalInputError(e);
    const code = (e as { code?: string }).code;
    throw new KmsByokError('ERR_FILE_READ', `cannot keep a one-time identity in ${dir}/.handover (${code ?? 'error'})`, { hint: 'give --escrow-dir the escrow directory of the recovery (it must exist and be yours)' });
  });
  if (made.swept > 0) say(io, 'note', `removed ${made.swept} expired one-time identit${made.swept === 1 ? 'y' : 'ies'}`);
  if (bool(p, 'json')) {
    printDocument(io, { recipient: made.recipient, escrowDir: dir, expires: made.expires, identityFile: made.path });
  } else {
    io.stdout.write(`${made.recipient}\n`);
    say(io, 'note', `one-time recipient for hand-overs into ${dir}, usable until ${made.expires} (its identity: ${made.path}, 0600; removed when a ceremony uses it)`);
    say(io, 'hint', `each custodian runs on their own machine: kms-byok escrow hand-over ESCROW-FILE --identity THEIR-IDENTITY --to ${made.recipient} --out FILE; then pass their files here with --share FILE`);
  }
  return ExitCode.ok;
}

export async function handOverShare(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(argv, ESCROW_HAND_OVER);
  if (bool(p, 'help')) {
    io.stdout.write(helpText(ESCROW_HAND_OVER));
    return ExitCode.ok;
  }
  const example = 'kms-byok escrow hand-over escrow/<key-id>.v1.age --identity mine.txt --to age1… --out share.handover';
  const file = p.positionals[0];
  if (file === undefined || p.positionals.length > 1) throw new KmsByokError('ERR_USAGE', file === undefined ? 'missing the escrow FILE' : 'give exactly one escrow FILE', { hint: example });
  const to = str(p, 'to');
  if (to === undefined) throw new KmsByokError('ERR_MISSING_INPUT', 'missing --to: the one-time recipient the host printed', { hint: `the host runs kms-byok escrow handover-recipient --escrow-dir DIR; then ${example}` });
  const out = str(p, 'out');
  if (out === undefined || out === '-') throw new KmsByokError('ERR_MISSING_INPUT', 'missing --out FILE: the hand-over is written to a new file', { hint: example });
  if (strs(p, 'identity').length === 0) throw new KmsByokError('ERR_MISSING_INPUT', 'missing --identity: your own age identity file', { hint: example });
  const opener = await readOpener(io, { identities: strs(p, 'identity'), passphraseFile: undefined });
  if (!('identities' in opener)) throw new KmsByokError('ERR_INTERNAL', 'hand-over opens with identities');
  const loaded = await readEscrow(resolve(io.cwd, file));
  let handover;
  try {
    handover = await handOver({ sidecar: loaded.sidecar, files: loaded.files }, opener.identities, to, isoNow());
  } catch (e) {
    // Nothing was written and nothing reached KMS: exit 2, except a share that differs from what its
    // sidecar recorded (damage, not a mistake in the invocation): exit 1.
    if (e instanceof KmsByokError && e.code === 'ERR_CHECK_VALUE_MISMATCH') throw e;
    throw asLocalInputError(e);
  }
  const path = resolve(io.cwd, out);
  await createExclusive(path, handover.bytes, '--out').catch((e: unknown) => {
    if (e instanceof KmsByokError) throw asLocalInputError(e);
    const code = (e as { code?: string }).code;
    throw new KmsByokError(code === 'EEXIST' ? 'ERR_ESCROW_EXISTS' : 'ERR_FILE_READ', code === 'EEXIST' ? `${out} already exists` : `cannot create ${out} (${code ?? 'error'})`, {
      hint: code === 'EEXIST' ? 'hand-over never overwrites a file: choose a new --out path' : 'check the --out path',
    });
  });
  const c = handover.claim;
  const who = c.holder.label ?? c.holder.recipient;
  if (bool(p, 'json')) {
    printDocument(io, { out: path, custodian: who, role: c.role, index: c.index, checkValues: c.checkValues, keyId: c.keyId, escrowVersion: c.escrowVersion, escrowId: c.escrowId, to: c.to });
  } else {
    printRows(io, [
      ['handed over', `${c.role} ${c.index} of ${c.keyId} v${c.escrowVersion}`],
      ['custodian', who],
      ['check value', c.checkValues.join(', ')],
      ['sealed to', `${c.to} (one-time)`],
      ['written', `${out} (mode 0600)`],
    ]);
    say(io, 'hint', `send ${out} to the host and read the check value aloud; the host passes it with --share ${out}`);
  }
  return ExitCode.ok;
}
