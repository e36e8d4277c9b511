/**
 * `kms-byok revoke KEY (--all | --key-material-id ID) --yes --reason TEXT`: deletes imported key
 * material at once (the BYOK kill switch). Unattended only: without --yes and --reason it exits 2
 * naming them (the wizard will ask interactively).
 */
import { ExitCode, KmsByokError } from '../../core/errors.js';
import type { RevokeResult } from '../../ceremony/revoke.js';
import { bool, missing, str, strs } from '../args.js';
import { helpText, parseCommand } from '../command-spec.js';
import { REVOKE } from '../specs/revoke.js';
import { hsmFlagsGiven } from '../hsm-flags.js';
import { say, type Io } from '../io.js';
import { printRows } from '../render.js';
import { lifecycleDocument, printDocument } from '../documents.js';
import { assertCustodyOpener, optionalOpener, runCeremony } from '../ceremony-run.js';
import { keyIdOf } from '../context.js';
import { assertEscrowFileMatches } from './reimport.js';


export async function revoke(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(argv, REVOKE, io.env);
  if (bool(p, 'help')) {
    io.stdout.write(helpText(REVOKE));
    return ExitCode.ok;
  }
  const keys = p.positionals;
  if (keys.length !== 1) throw keys.length === 0 ? missing('KEY', 'which key to revoke (key id, ARN or alias/NAME)') : new KmsByokError('ERR_USAGE', 'revoke takes one KEY', { hint: 'run revoke once per key' });
  const id = str(p, 'key-material-id');
  if (bool(p, 'all') === (id !== undefined)) {
    throw new KmsByokError(id === undefined ? 'ERR_MISSING_INPUT' : 'ERR_USAGE', id === undefined ? 'missing --all or --key-material-id: choose what to delete' : 'give only one of --all and --key-material-id', {
      hint: '--all deletes every material of the key; --key-material-id ID deletes one (kms-byok status lists them)',
    });
  }
  if (id !== undefined && !/^[0-9a-f]{64}$/.test(id)) throw new KmsByokError('ERR_INVALID_ARGUMENT', `invalid --key-material-id "${id}": expected 64 lower-case hex`, { hint: 'copy it from kms-byok status' });
  const reason = str(p, 'reason');
  if (!bool(p, 'yes') || reason === undefined || reason.trim() === '') {
    const lacking = [!bool(p, 'yes') ? '--yes' : undefined, reason === undefined || reason.trim() === '' ? '--reason' : undefined].filter(Boolean).join(' and ');
    throw new KmsByokError('ERR_MISSING_INPUT', `missing ${lacking}: revoke deletes key material at once and the key stops working`, {
      hint: 'unattended, pass --yes and --reason "why" (recorded in the transcript); the key comes back only with kms-byok restore from its escrow',
    });
  }
  const key = keys[0]!;
  await assertEscrowFileMatches(p, io, keys);
  let without = bool(p, 'without-escrow');
  // With HSM custody the proof comes from the token: it holds the recorded material and KMS accepts it.
  let custodyProof: string | undefined;
  if (hsmFlagsGiven(p)) {
    const hsm = await import('../hsm-run.js');
    if (hsm.wantsHsmCustody(p)) {
      if (without) throw new KmsByokError('ERR_INVALID_COMBINATION', '--without-escrow and --custody pkcs11 contradict each other', { hint: 'drop one' });
      custodyProof = await hsm.proveCustodyBeforeRevoke(p, io, key);
      without = true;
    }
  }
  // Revoke with proof: the escrow is opened and KMS accepts its material before anything is deleted.
  if (!without && strs(p, 'identity').length === 0 && str(p, 'passphrase-file') === undefined) {
    throw new KmsByokError('ERR_MISSING_INPUT', 'missing --identity or --passphrase-file: revoke proves the escrow holds the material before deleting it', {
      hint: `pass --identity FILE (or --passphrase-file FILE) to open the escrow of ${key}; --without-escrow destroys the material for good without that proof`,
    });
  }
  const opener = await optionalOpener(p, io);
  await assertCustodyOpener(p, io, keys, opener).catch((e: unknown) => {
    if (opener !== undefined && 'passphrase' in opener) opener.passphrase.dispose();
    throw e;
  });
  if (without && !custodyProof) say(io, 'warning', '--without-escrow: if no escrow holds this material, the key and everything encrypted under it are lost for good');
  try {
    const r = await runCeremony<RevokeResult>(
      p,
      io,
      {
        ceremony: 'revoke',
        subject: keyIdOf(key) ?? key,
        ...(opener ? { opener } : {}),
        // Without --without-escrow, a missing escrow is the same refusal the ceremony makes, made before anything.
        ...(without ? {} : { needsEscrow: { refuse: async (problem: string) => (await import('../../ceremony/revoke.js')).revokeUnsafe(problem) } }),
        record: (x) => [
          ['key', x?.keyArn ?? key],
          ['reason', reason],
          ['deleted', x?.deleted],
          ['escrow', x?.escrow ? `${x.escrow} (${x.escrowVerified === 'proven' ? 'opened; KMS accepted each material' : 'NOT verified'})` : custodyProof ? `pkcs11 custody ${custodyProof}` : without ? 'NONE (--without-escrow)' : undefined],
          ['key state after', x?.keyState],
        ],
        outcome: (x) => `revoked: ${x.deleted.length} material(s) deleted, key ${x.keyState}`,
        document: lifecycleDocument,
        keyOf: (x) => x.keyId,
      },
      async ({ deps }) => {
        const { runRevoke } = await import('../../ceremony/revoke.js');
        return runRevoke({ key, reason, withoutEscrow: without, openEscrow: opener !== undefined, ...(id ? { keyMaterialId: id } : {}) }, deps);
      },
    );
    if (bool(p, 'json')) printDocument(io, lifecycleDocument(r));
    else {
      printRows(io, [
        ['key', r.keyArn],
        ['deleted', r.deleted.join(', ')],
        ['state', r.keyState],
        ['reason', r.reason],
        ['escrow', r.escrow ? `${r.escrow} (${r.escrowVerified === 'proven' ? 'opened; KMS accepted each material' : 'NOT verified'})` : 'none'],
      ]);
    }
    say(io, 'note', `to bring the key back: kms-byok restore ${r.keyId} --expires-in 90d --identity custodian.txt`);
    return ExitCode.ok;
  } finally {
    if (opener && 'passphrase' in opener) opener.passphrase.dispose();
  }
}
