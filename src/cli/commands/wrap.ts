/**
 * `kms-byok wrap`: the offline step of an air-gapped ceremony. Reads a parameters bundle, generates
 * (or reads) the material, seals the escrow durably, wraps the material, and writes an import bundle.
 *
 * It needs no AWS SDK client, no network and no credentials: this module and everything it imports
 * never load `kms/aws`, `cli/target` or `@aws-sdk/*` (test/e2e/airgap.test.ts runs it under an import
 * hook that refuses them, with networking disabled).
 */
import { resolve } from 'node:path';
import { ExitCode, KmsByokError } from '../../core/errors.js';
import { expectKind, PARAMETERS_FORMAT, runWrap } from '../../ceremony/airgap.js';
import { nextEscrowVersion } from '../../escrow/file-store.js';
import { fingerprintLines } from '../../wizard/render.js';
import { OUTPUT_FLAGS, bool, missing, parseFlags, str, strs } from '../args.js';
import { assertBundleCreatable, operator, readBundleFile, readMaterialFile, writeBundleFile } from '../bundles.js';
import { openEscrowVault, readSealingInputs } from '../escrow-inputs.js';
import { say, type Io } from '../io.js';
import { printJson, printRows } from '../render.js';
import { WRAP_USAGE } from '../usage.js';

const FLAGS = {
  ...OUTPUT_FLAGS,
  parameters: { type: 'string' },
  out: { type: 'string' },
  'material-file': { type: 'string' },
  recipient: { type: 'string', multiple: true },
  'recipients-file': { type: 'string', multiple: true },
  'passphrase-file': { type: 'string' },
  'escrow-dir': { type: 'string' },
} as const;

export async function wrap(argv: string[], io: Io): Promise<number> {
  const p = parseFlags(argv, FLAGS, 'wrap');
  if (bool(p, 'help')) {
    io.stdout.write(WRAP_USAGE);
    return ExitCode.ok;
  }
  if (p.positionals.length > 0) throw new KmsByokError('ERR_USAGE', `unexpected argument "${p.positionals[0]}"`, { hint: 'run kms-byok wrap --help' });
  const parametersPath = str(p, 'parameters');
  if (parametersPath === undefined) throw missing('--parameters', 'the parameters bundle written by onboard --export-parameters (step 1)');
  const local = (path: string) => (path === '-' ? path : resolve(io.cwd, path));
  const parametersFile = local(parametersPath);
  const outPath = local(str(p, 'out') ?? 'import.json');
  const bundle = expectKind(await readBundleFile(parametersFile, '--parameters'), PARAMETERS_FORMAT, parametersFile);
  say(io, 'note', `parameters bundle SHA-256 (compare with the online machine):\n${fingerprintLines(bundle.sha256)}`);
  await assertBundleCreatable(outPath, '--out');
  const escrowDir = resolve(io.cwd, str(p, 'escrow-dir') ?? 'escrow');
  const materialFile = str(p, 'material-file');
  const material = materialFile === undefined ? undefined : await readMaterialFile(local(materialFile), bundle.key.keySpec);
  const passphraseFile = str(p, 'passphrase-file');
  try {
    const sealing = await readSealingInputs(io, {
      recipients: strs(p, 'recipient'),
      recipientsFiles: strs(p, 'recipients-file').map(local),
      passphraseFile: passphraseFile === undefined ? undefined : local(passphraseFile),
    });
    try {
      const vault = await openEscrowVault(escrowDir, io);
      const escrowVersion = await nextEscrowVersion(escrowDir, bundle.key.keyId);
      // A second wrap would seal different material as a newer version the key will never hold, and
      // every lifecycle command reads the newest version: refuse, and keep the first escrow authoritative.
      if (escrowVersion > 1) {
        throw new KmsByokError('ERR_ESCROW_EXISTS', `key ${bundle.key.keyId} already has an escrow in ${escrowDir}`, {
          hint: 'import the import bundle written with that escrow; if its parameters expired, get fresh ones (onboard --export-parameters --key-id) and re-wrap the escrowed material with --material-file from kms-byok escrow export',
        });
      }
      const out = await runWrap(
        bundle,
        { ...(material ? { material } : {}), sealing, createdBy: operator(), escrowVersion },
        { escrow: vault, now: () => new Date(), progress: (step) => say(io, null, `✓ ${step}`) },
      );
      await writeBundleFile(outPath, out);
      say(io, null, `✓ wrote the import bundle ${outPath}`);
      const result = {
        keyId: out.key.keyId,
        keyArn: out.key.keyArn,
        importBundle: outPath,
        checkValue: out.checkValue,
        escrow: resolve(escrowDir, out.escrow.file),
        parametersValidTo: out.ParametersValidTo,
        parametersSha256: bundle.sha256,
        sha256: out.sha256,
      };
      if (bool(p, 'json')) printJson(io, result);
      else {
        printRows(io, [
          ['key', result.keyArn],
          ['check value', result.checkValue],
          ['escrow', result.escrow],
          ['import bundle', `${outPath} (import before ${result.parametersValidTo})`],
        ]);
        io.stdout.write(`\nimport bundle SHA-256 (compare on the online machine):\n${fingerprintLines(out.sha256)}\n`);
        io.stdout.write(`\nnext, online: kms-byok import --bundle ${outPath}\n`);
      }
      return ExitCode.ok;
    } finally {
      sealing.passphrase?.dispose();
    }
  } finally {
    material?.dispose();
  }
}
