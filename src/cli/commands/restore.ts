/**
 * `kms-byok restore`: disaster recovery. For an existing key in PendingImport, re-imports every
 * missing material from its escrow. With --new-key, creates a fresh EXTERNAL key (optionally a
 * multi-Region primary with replicas) from the escrow's current material.
 */
import { resolve } from 'node:path';
import { ExitCode, KmsByokError } from '../../core/errors.js';
import { assertAliasName } from '../../core/alias.js';
import type { ReimportResult } from '../../ceremony/reimport.js';
import type { NewKeyResult } from '../../ceremony/new-key.js';
import { bool, missing, str, strs } from '../args.js';
import { helpText, parseCommand } from '../command-spec.js';
import { RESTORE } from '../specs/restore.js';
import { hsmFlagsGiven } from '../hsm-flags.js';
import { say, type Io } from '../io.js';
import { printRows } from '../render.js';
import { lifecycleDocument, printDocument, reimportDocument } from '../documents.js';
import { parseExpiry } from './onboard.js';
import { assertCustodyOpener, escrowDirOf, optionalOpener, runCeremony } from '../ceremony-run.js';
import { keyIdOf, loadEscrowRef, operatorName } from '../context.js';
import { assertEscrowFileMatches, renderReimport } from './reimport.js';
import { readSealingInputs } from '../escrow-inputs.js';


const NOT_DECRYPTABLE = 'ciphertexts of the old key do NOT decrypt under the new key (KMS binds every ciphertext to its key): re-encrypt data with the new key, and keep the old escrow';

export async function restore(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(argv, RESTORE, io.env);
  if (bool(p, 'help')) {
    io.stdout.write(helpText(RESTORE));
    return ExitCode.ok;
  }
  if (str(p, 'plan') !== undefined) return (await import('../../fleet/per-key.js')).restorePlan(p, io);
  const expiry = parseExpiry(p);
  const newKey = bool(p, 'new-key');
  const keys = p.positionals;
  if (!newKey && (bool(p, 'multi-region') || strs(p, 'replica-region').length > 0 || strs(p, 'alias').length > 0 || strs(p, 'recipient').length > 0 || str(p, 'description') !== undefined)) {
    throw new KmsByokError('ERR_USAGE', '--alias, --multi-region, --replica-region, --recipient and --description apply to --new-key only', { hint: 'a restored key keeps its aliases, Regions, custodians and description' });
  }
  for (const a of strs(p, 'alias')) assertAliasName(a); // before any KMS request
  if (strs(p, 'replica-region').length > 0 && !bool(p, 'multi-region')) {
    throw new KmsByokError('ERR_USAGE', '--replica-region needs --multi-region', { hint: 'replicas exist only for multi-Region keys' });
  }
  if (keys.length > 1) throw new KmsByokError('ERR_USAGE', 'restore takes one KEY', { hint: 'run restore once per key' });
  if (!newKey && keys.length === 0) throw missing('KEY', 'which key to restore (key id, ARN or alias/NAME)', 'kms-byok restore alias/payments --expires-in 90d --identity custodian.txt');
  if (newKey && keys.length === 0 && str(p, 'escrow') === undefined) throw missing('--escrow', 'the escrow to create the new key from', 'pass --escrow escrow/<old-key-id>.v<N>.age');
  if (newKey && keys[0] !== undefined && keyIdOf(keys[0]) === undefined) {
    // The escrow is found by the old key's id (its files are named by it), and after a disaster the
    // old key — and so its alias — may be gone: an alias cannot be resolved here.
    throw new KmsByokError('ERR_USAGE', `restore --new-key finds the escrow by the old key's id, not an alias: ${JSON.stringify(keys[0].slice(0, 80))}`, {
      hint: 'give the old key id or ARN (the escrow files are named <key-id>.v<N>.age), or --escrow escrow/<old-key-id>.v<N>.age',
    });
  }
  if (newKey && !bool(p, 'yes')) {
    throw new KmsByokError('ERR_MISSING_INPUT', 'missing --yes: restore --new-key creates a KMS key', { hint: `review the flags, then re-run with --yes; note: ${NOT_DECRYPTABLE}` });
  }
  if (hsmFlagsGiven(p)) {
    const hsm = await import('../hsm-run.js');
    if (hsm.wantsHsmCustody(p)) {
      if (newKey) throw new KmsByokError('ERR_INVALID_COMBINATION', '--new-key with --custody pkcs11 is not supported: a token key belongs to one KMS key', { hint: 'restore the key in place, or onboard a new key with --custody pkcs11' });
      return hsm.runHsmCommand('restore', p, io, expiry);
    }
  }
  await assertEscrowFileMatches(p, io, keys);
  // Recipients (no secret) are checked before the opener's passphrase is read, so a bad one leaves no secret behind.
  const sealing = strs(p, 'recipient').length > 0 ? await readSealingInputs(io, { recipients: strs(p, 'recipient'), recipientsFiles: [], passphraseFile: undefined }) : undefined;
  const opener = await optionalOpener(p, io);
  await assertCustodyOpener(p, io, keys, opener).catch((e: unknown) => {
    if (opener !== undefined && 'passphrase' in opener) opener.passphrase.dispose();
    throw e;
  });
  if (!opener) throw missing('--identity, --share or --passphrase-file', 'how to open the escrow', 'pass --identity custodian.txt, --share FILE (a custodian\'s hand-over) or --passphrase-file FILE');
  try {
    if (!newKey) {
      const key = keys[0]!;
      const r = await runCeremony<ReimportResult>(
        p,
        io,
        {
          ceremony: 'restore',
          subject: keyIdOf(key) ?? key,
          opener,
          needsEscrow: true,
          record: (x) => [
            ['key', x?.keyArn ?? key],
            ['escrow', x?.escrow],
            ['materials', x?.materials.map((m) => `${m.index}: ${m.keyMaterialId ?? 'no id'} ${m.reimported ? 're-imported' : 'already imported'}`)],
          ],
          outcome: (x) => x.action,
          document: reimportDocument,
          keyOf: (x) => x.keyId,
        },
        async ({ deps }) => {
          const { runReimport } = await import('../../ceremony/reimport.js');
          return runReimport({ key, expiry, mode: 'restore' }, deps);
        },
      );
      if (bool(p, 'json')) printDocument(io, reimportDocument(r));
      else renderReimport(io, r);
      return ExitCode.ok;
    }

    const escrowDirFlag = str(p, 'escrow');
    const subjectKey = keys[0] ?? (escrowDirFlag ? (await loadEscrowRef(resolve(io.cwd, escrowDirFlag))).sidecar.manifest.keyId : undefined)!;
    say(io, 'warning', NOT_DECRYPTABLE);
    const result = await runCeremony<NewKeyResult & { from: string }>(
      p,
      io,
      {
        ceremony: 'restore-new-key',
        subject: keyIdOf(subjectKey) ?? subjectKey,
        opener,
        needsEscrow: true,
        ...(sealing ? { store: { sealing } } : {}),
        record: (x) => [
          ['from escrow of', subjectKey],
          ['new key', x?.keyArn],
          ['replicas', x?.replicas.map((r) => `${r.region} ${r.keyState}`)],
          ['check value', x?.checkValue],
          ['escrow', x?.escrow],
        ],
        outcome: (x) => `new key ${x.keyId} ${x.keyState}`,
        document: lifecycleDocument,
        keyOf: (x) => x.keyId,
      },
      async ({ deps }) => {
        const { createKeyFromMaterial } = await import('../../ceremony/new-key.js');
        const { escrowNotFound } = await import('../../ceremony/shared.js');
        const { disposePayload } = await import('../../escrow/index.js');
        const source = await deps.escrow.latest(keyIdOf(subjectKey) ?? subjectKey);
        if (!source) throw escrowNotFound(`no escrow of key ${subjectKey} in ${escrowDirOf(p, io)}`);
        const payload = await deps.escrow.open(source);
        try {
          const m = payload.manifest;
          const current = payload.materials[payload.materials.length - 1]!;
          deps.progress(`opened escrow ${source.path}: ${payload.materials.length} material(s), using material ${current.index} (${current.checkValue})`);
          const r = await createKeyFromMaterial(
            {
              keySpec: m.keySpec,
              keyUsage: m.keyUsage,
              description: str(p, 'description') ?? `restored by kms-byok from the escrow of ${m.keyArn}`,
              multiRegion: bool(p, 'multi-region'),
              replicaRegions: strs(p, 'replica-region'),
              aliases: strs(p, 'alias'),
              moveAliases: bool(p, 'move-alias'),
              expiry,
              sealing: deps.escrow.sealingFor(source.sidecar),
              createdBy: operatorName(),
              material: current.material,
              tags: [
                { TagKey: 'created-by', TagValue: 'kms-byok' },
                { TagKey: 'restored-from', TagValue: m.keyArn },
              ],
            },
            deps,
          );
          return { ...r, from: m.keyArn };
        } finally {
          disposePayload(payload);
        }
      },
    );
    if (bool(p, 'json')) printDocument(io, { ...lifecycleDocument(result), note: NOT_DECRYPTABLE });
    else {
      printRows(io, [
        ['new key', result.keyArn],
        ['restored from', result.from],
        ['state', result.keyState],
        ['KeyMaterialId', result.keyMaterialId],
        ['check value', result.checkValue],
        ['expiry', result.validTo ?? 'never'],
        ['replicas', result.replicas.map((r) => `${r.region} (${r.keyState})`).join(', ') || undefined],
        ['aliases', result.aliases.join(', ') || undefined],
        ['escrow', result.escrow],
        ['verified', result.verified],
        ['note', NOT_DECRYPTABLE],
      ]);
    }
    return ExitCode.ok;
  } finally {
    if ('passphrase' in opener) opener.passphrase.dispose();
  }
}
