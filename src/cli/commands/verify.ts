/**
 * `kms-byok verify KEY`: on-demand proof that KMS holds exactly the escrowed material. Opens the
 * key's latest escrow (or --escrow FILE) with the custodian's identity or passphrase. Exit 0 when
 * proven, 3 when KMS and the escrow disagree (attention), 1 when it could not be checked.
 */
import { ExitCode, KmsByokError } from '../../core/errors.js';
import { disposePayload, openEscrow, recordImport } from '../../escrow/index.js';
import { readEscrow, updateSidecar } from '../context.js';
import { checkValue } from '../../material/check-value.js';
import { describeExternalKey } from '../../ceremony/shared.js';
import { bool, missing, str } from '../args.js';
import { helpText, parseCommand } from '../command-spec.js';
import { VERIFY } from '../specs/verify.js';
import { hsmFlagsGiven } from '../hsm-flags.js';
import { say, type Io } from '../io.js';
import { printRows } from '../render.js';
import { escrowRef, printDocument, printErrorDocument, verification } from '../documents.js';
import { openTarget } from '../target.js';
import { escrowDirOf, optionalOpener } from '../ceremony-run.js';
import { consumeHandover } from '../escrow-inputs.js';
import { latestEscrow, loadEscrowRef } from '../context.js';
import { resolve } from 'node:path';

export async function verify(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(argv, VERIFY, io.env);
  if (bool(p, 'help')) {
    io.stdout.write(helpText(VERIFY));
    return ExitCode.ok;
  }
  if (p.positionals.length !== 1) throw p.positionals.length === 0 ? missing('KEY', 'which key to verify (key id, ARN or alias/NAME)') : new KmsByokError('ERR_USAGE', 'verify takes one KEY', { hint: 'run verify once per key' });
  if (hsmFlagsGiven(p)) {
    const hsm = await import('../hsm-run.js');
    if (hsm.wantsHsmCustody(p)) return hsm.runHsmCommand('verify', p, io, undefined);
  }
  // A named escrow file is read before the opener's secret and before anything is sent to KMS.
  const file = str(p, 'escrow');
  const named = file !== undefined ? await loadEscrowRef(resolve(io.cwd, file)) : undefined;
  const opener = await optionalOpener(p, io);
  if (!opener) throw missing('--identity, --share or --passphrase-file', 'the escrow must be opened to compare its material with KMS');
  try {
    const target = await openTarget(p, io);
    try {
      const key = await describeExternalKey(target.kms, p.positionals[0]!);
      const ref = named ?? (await latestEscrow(escrowDirOf(p, io), key.KeyId));
      if (!ref) {
        throw new KmsByokError('ERR_ESCROW_NOT_FOUND', `no escrow for key ${key.KeyId} in ${escrowDirOf(p, io)}`, { hint: 'pass --escrow-dir DIR or --escrow FILE' });
      }
      const payload = await openEscrow(await readEscrow(ref.sidecarPath, { found: true }), opener, { computeCheckValue: checkValue }, 'renewal');
      try {
        const { runVerify } = await import('../../ceremony/verify.js');
        let result;
        try {
          result = await runVerify(target.kms, key, { payload, sidecar: ref.sidecar, path: ref.path }, (s) => say(io, null, `✓ ${s}`), async (fact) => {
            await updateSidecar(ref.sidecarPath, (s) => recordImport(s, fact));
          });
        } catch (e) {
          if (e instanceof KmsByokError && (e.code === 'ERR_VERIFY_FAILED' || e.code === 'ERR_KMS_INCORRECT_KEY_MATERIAL')) {
            say(io, 'error', e.message);
            say(io, 'hint', e.hint ?? 'do not use this key until KMS and the escrow agree');
            io.stderr.write(`kms-byok: code: ${e.code}\n`);
            if (bool(p, 'json')) printErrorDocument(io, e);
            return ExitCode.attention;
          }
          throw e;
        }
        if (bool(p, 'json')) {
          const { proof, ...rest } = result;
          printDocument(io, { ...rest, escrow: escrowRef(ref.path, { sidecarPath: ref.sidecarPath }), verified: verification(proof) });
        }
        else
          printRows(io, [
            ['key', result.keyArn],
            ['escrow', ref.path],
            ...result.materials.map((m): [string, string] => [`material ${m.index}`, `${m.checkValue}${m.keyMaterialId ? `  KeyMaterialId ${m.keyMaterialId}` : ''}${m.confirmedByReimport ? '  confirmed by re-import' : ''}`]),
            ['proof', result.proof.summary],
            ['anchors', result.anchors === 'written' ? 'written now (the key had none; the escrow was proven first)' : result.anchors === 'anchored' ? 'the key\'s tags vouch for this escrow' : 'none'],
            ['result', 'ok: KMS holds exactly the escrowed material'],
          ]);
        await consumeHandover(opener, io); // a hand-over opens one ceremony (docs/custody.md, "Hand-over")
        return ExitCode.ok;
      } finally {
        disposePayload(payload);
      }
    } finally {
      await target.close();
    }
  } finally {
    if ('passphrase' in opener) opener.passphrase.dispose();
  }
}
