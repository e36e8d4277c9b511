/**
 * `kms-byok rotate KEY (--in-place | --new-key)`: key material rotation with an explicit strategy.
 */
import { ExitCode, KmsByokError } from '../../core/errors.js';
import { assertAliasName } from '../../core/alias.js';
import type { RotateInPlaceResult, RotateNewKeyResult } from '../../ceremony/rotate.js';
import { bool, missing, str, strs } from '../args.js';
import { helpText, parseCommand } from '../command-spec.js';
import { ROTATE } from '../specs/rotate.js';
import { hsmFlagsGiven } from '../hsm-flags.js';
import { type Io } from '../io.js';
import { printRows } from '../render.js';
import { lifecycleDocument, printDocument, rotateInPlaceDocument } from '../documents.js';
import { parseExpiry } from './onboard.js';
import { assertCustodyOpener, optionalOpener, runCeremony } from '../ceremony-run.js';
import { keyIdOf, operatorName } from '../context.js';
import { assertEscrowFileMatches } from './reimport.js';
import { readSealingInputs } from '../escrow-inputs.js';


export async function rotate(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(argv, ROTATE, io.env);
  if (bool(p, 'help')) {
    io.stdout.write(helpText(ROTATE));
    return ExitCode.ok;
  }
  const keys = p.positionals;
  if (keys.length !== 1) throw keys.length === 0 ? missing('KEY', 'which key to rotate (key id, ARN or alias/NAME)') : new KmsByokError('ERR_USAGE', 'rotate takes one KEY', { hint: 'run rotate once per key' });
  const inPlace = bool(p, 'in-place');
  const newKey = bool(p, 'new-key');
  if (inPlace === newKey) {
    throw new KmsByokError(inPlace ? 'ERR_USAGE' : 'ERR_MISSING_INPUT', inPlace ? 'give only one of --in-place and --new-key' : 'missing --in-place or --new-key: choose the rotation strategy', {
      hint: '--in-place keeps the key id (symmetric keys; new material, RotateKeyOnDemand); --new-key creates a new key and moves the alias',
    });
  }
  if (inPlace && strs(p, 'alias').length > 0) {
    throw new KmsByokError('ERR_USAGE', '--alias applies to --new-key only', { hint: 'an in-place rotation keeps the key and its aliases' });
  }
  // --in-place --custody pkcs11 --also-escrow seals a new escrow version: --recipient names its
  // custodians (docs/hsm.md, "Also an age escrow"); a software in-place rotation keeps the escrow's.
  const hsmEscrow = str(p, 'custody') === 'pkcs11' && bool(p, 'also-escrow');
  if (inPlace && !hsmEscrow && strs(p, 'recipient').length > 0) {
    throw new KmsByokError('ERR_USAGE', '--recipient applies to --new-key, or to --in-place --custody pkcs11 --also-escrow', {
      hint: 'an in-place rotation keeps the escrow\'s custodians; to change them, reseal the escrow (kms-byok escrow reseal)',
    });
  }
  for (const a of strs(p, 'alias')) assertAliasName(a); // before any KMS request
  const expiry = parseExpiry(p);
  if (!bool(p, 'yes')) {
    throw new KmsByokError('ERR_MISSING_INPUT', `missing --yes: rotate imports new key material${newKey ? ' into a new key and moves the alias' : ''}`, {
      hint: 'review the flags, then re-run with --yes to confirm (the wizard asks interactively)',
    });
  }
  if (hsmFlagsGiven(p)) {
    const hsm = await import('../hsm-run.js');
    if (hsm.wantsHsmCustody(p)) {
      if (newKey) throw new KmsByokError('ERR_INVALID_COMBINATION', '--new-key with --custody pkcs11 is not supported yet', { hint: 'rotate with --in-place (new material generated in the token)' });
      return hsm.runHsmCommand('rotate', p, io, expiry);
    }
  }
  const key = keys[0]!;
  await assertEscrowFileMatches(p, io, keys);
  // Recipients (no secret) are checked before the opener's passphrase is read, so a bad one leaves no secret behind.
  const sealing = strs(p, 'recipient').length > 0 ? await readSealingInputs(io, { recipients: strs(p, 'recipient'), recipientsFiles: [], passphraseFile: undefined }) : undefined;
  const opener = await optionalOpener(p, io);
  await assertCustodyOpener(p, io, keys, opener).catch((e: unknown) => {
    if (opener !== undefined && 'passphrase' in opener) opener.passphrase.dispose();
    throw e;
  });
  if (inPlace && !opener) throw missing('--identity or --passphrase-file', 'the escrow must be opened to seal the new version with every material', 'pass --identity custodian.txt or --passphrase-file FILE');
  try {
    if (inPlace) {
      const r = await runCeremony<RotateInPlaceResult>(
        p,
        io,
        {
          ceremony: 'rotate-in-place',
          subject: keyIdOf(key) ?? key,
          ...(opener ? { opener } : {}),
          needsEscrow: true,
          record: (x) => [
            ['key', x?.keyArn ?? key],
            ['new KeyMaterialId', x?.keyMaterialId],
            ['previous KeyMaterialId', x?.previousKeyMaterialId],
            ['check value', x?.checkValue],
            ['ValidTo', x?.validTo],
            ['replicas', x?.replicas],
            ['escrow', x ? `${x.escrow} (version ${x.escrowVersion}, ${x.materials} materials)` : undefined],
            ['on-demand rotations left', x ? String(x.onDemandRotationsLeft) : undefined],
          ],
          outcome: (x) => `rotated in place; ${x.keyMaterialId} is CURRENT`,
          document: rotateInPlaceDocument,
          keyOf: (x) => x.keyId,
        },
        async ({ deps }) => {
          const { runRotateInPlace } = await import('../../ceremony/rotate.js');
          return runRotateInPlace({ key, expiry, createdBy: operatorName() }, deps);
        },
      );
      if (bool(p, 'json')) printDocument(io, rotateInPlaceDocument(r));
      else {
        printRows(io, [
          ['key', r.keyArn],
          ['strategy', 'in-place (key id and ARN unchanged)'],
          ['current material', r.keyMaterialId],
          ['previous material', r.previousKeyMaterialId ? `${r.previousKeyMaterialId} (NON_CURRENT: decrypts old data)` : undefined],
          ['check value', r.checkValue],
          ['expiry', r.validTo ?? 'never'],
          ['replicas', r.replicas.join(', ') || undefined],
          ['escrow', `${r.escrow} (version ${r.escrowVersion}, ${r.materials} materials)`],
          ['rotations left', `${r.onDemandRotationsLeft} of 25 on-demand rotations`],
          ['verified', r.verified],
        ]);
      }
      return ExitCode.ok;
    }
    const r = await runCeremony<RotateNewKeyResult>(
      p,
      io,
      {
        ceremony: 'rotate-new-key',
        subject: keyIdOf(key) ?? key,
        // The alias moves to the new key during the ceremony: a re-run must find this journal by it.
        literalSubject: true,
        ...(opener ? { opener } : {}),
        ...(sealing ? { store: { sealing } } : {}),
        record: (x) => [
          ['old key', x?.oldKeyArn ?? key],
          ['new key', x?.keyArn],
          ['aliases moved', x?.aliases],
          ['check value', x?.checkValue],
          ['escrow', x?.escrow],
        ],
        outcome: (x) => `new key ${x.keyId}; aliases moved; old key ${x.oldKeyState}`,
        document: lifecycleDocument,
        keyOf: (x) => x.keyId,
      },
      async ({ deps }) => {
        const { runRotateNewKey } = await import('../../ceremony/rotate.js');
        return runRotateNewKey({ key, expiry, createdBy: operatorName(), aliases: strs(p, 'alias'), ...(sealing ? { sealing } : {}) }, deps);
      },
    );
    if (bool(p, 'json')) printDocument(io, lifecycleDocument(r));
    else {
      printRows(io, [
        ['new key', r.keyArn],
        ['old key', `${r.oldKeyArn} (${r.oldKeyState}: still decrypts old data)`],
        ['aliases', r.aliases.join(', ')],
        ['KeyMaterialId', r.keyMaterialId],
        ['check value', r.checkValue],
        ['expiry', r.validTo ?? 'never'],
        ['escrow', r.escrow],
        ['verified', r.verified],
      ]);
    }
    return ExitCode.ok;
  } finally {
    if (opener && 'passphrase' in opener) opener.passphrase.dispose();
    sealing?.passphrase?.dispose();
  }
}
