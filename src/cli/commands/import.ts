/**
 * `kms-byok import`: the last, online step of an air-gapped ceremony. Reads the import bundle that
 * `kms-byok wrap` wrote offline, checks it (format, fingerprint, token not expired, this very key),
 * imports it, records the facts in the escrow sidecar when it is reachable, and verifies without the
 * material.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ExitCode, KmsByokError } from '../../core/errors.js';
import { expectKind, IMPORT_FORMAT, type ImportBundleResult } from '../../airgap/ceremony.js';
import { recordImport, type EscrowSidecar, type ImportFact } from '../../escrow/index.js';
import { updateSidecar } from '../context.js';
import { fingerprintLines } from '../../wizard/render.js';
import { bool, missing, str } from '../args.js';
import { helpText, parseCommand } from '../command-spec.js';
import { IMPORT } from '../specs/import.js';
import { readBundleFile } from '../../airgap/bundles.js';
import { say, type Io } from '../io.js';
import { printRows } from '../render.js';
import { escrowRef, printDocument } from '../documents.js';
import { openTarget } from '../target.js';
import { assertDirectorySafe } from '../../records/safe-files.js';


export async function importCommand(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(argv, IMPORT, io.env);
  if (bool(p, 'help')) {
    io.stdout.write(helpText(IMPORT));
    return ExitCode.ok;
  }
  if (p.positionals.length > 0) throw new KmsByokError('ERR_USAGE', `unexpected argument "${p.positionals[0]}"`, { hint: 'run kms-byok import --help' });
  const bundlePath = str(p, 'bundle');
  if (bundlePath === undefined) throw missing('--bundle', 'the import bundle written by kms-byok wrap (step 2)');
  const path = resolve(io.cwd, bundlePath);
  const bundle = expectKind(await readBundleFile(path, '--bundle'), IMPORT_FORMAT, path);
  say(io, 'note', `import bundle SHA-256 (compare with the offline machine):\n${fingerprintLines(bundle.sha256)}`);
  const escrowDir = resolve(io.cwd, str(p, 'escrow-dir') ?? 'escrow');
  const sidecarPath = resolve(escrowDir, bundle.escrow.sidecar);
  const sidecarMatches = (s: EscrowSidecar): void => {
    if (s.manifest.keyArn !== bundle.key.keyArn || s.materials[0]?.checkValue !== bundle.checkValue) {
      throw new KmsByokError('ERR_ESCROW_MISMATCH', `the sidecar ${sidecarPath} is not the escrow of this bundle`, { hint: 'point --escrow-dir at the escrow written by kms-byok wrap for this bundle' });
    }
  };
  assertDirectorySafe(escrowDir); // before any KMS request: the sidecar it records into must be ours
  const target = await openTarget(p, io);
  try {
    const { runImportBundle, importedFacts } = await import('../../airgap/ceremony.js');
    if (bool(p, 'record-only')) {
      if (!existsSync(sidecarPath)) throw new KmsByokError('ERR_ESCROW_NOT_FOUND', `no sidecar ${bundle.escrow.sidecar} in ${escrowDir}`, { hint: 'point --escrow-dir at the escrow directory written by kms-byok wrap' });
      const fact = await importedFacts(target.kms, bundle, new Date());
      await updateSidecar(sidecarPath, (s) => (sidecarMatches(s), recordImport(s, fact)));
      say(io, null, `✓ recorded KeyMaterialId ${fact.keyMaterialId ?? '(none)'} and ValidTo ${fact.validTo ?? '(none)'} in ${sidecarPath}`);
      if (bool(p, 'json')) printDocument(io, { keyId: bundle.key.keyId, keyArn: bundle.key.keyArn, escrow: escrowRef(sidecarPath.replace(/\.json$/, ''), { sidecarPath }), recorded: fact });
      return ExitCode.ok;
    }
    const keyId = str(p, 'key-id');
    const result = await runImportBundle(bundle, keyId ? { expectKey: keyId } : {}, {
      kms: target.kms,
      now: target.now,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      progress: (step) => say(io, null, `✓ ${step}`),
      recordImport: async (fact: ImportFact) => {
        if (!existsSync(sidecarPath)) return undefined;
        await updateSidecar(sidecarPath, (s) => (sidecarMatches(s), recordImport(s, fact)));
        return sidecarPath;
      },
    });
    render(io, result, bool(p, 'json'), target.label, bundle.escrow.sidecar);
    return ExitCode.ok;
  } finally {
    await target.close();
  }
}

function render(io: Io, r: ImportBundleResult, json: boolean, target: string, sidecarName: string): void {
  if (!r.sidecar) {
    say(io, 'warning', `the escrow sidecar ${sidecarName} is not in --escrow-dir: KeyMaterialId ${r.keyMaterialId ?? '(none)'} and ValidTo ${r.validTo ?? '(none)'} are not recorded in it`);
    say(io, 'hint', `record them once the escrow directory is reachable: kms-byok import --bundle FILE --escrow-dir DIR --record-only`);
  }
  if (json) {
    const { sidecar, ...rest } = r;
    printDocument(io, { ...rest, ...(sidecar ? { escrow: escrowRef(sidecar.replace(/\.json$/, ''), { sidecarPath: sidecar }) } : {}), target });
    return;
  }
  printRows(io, [
    ['key', r.keyArn],
    ['alias', r.alias],
    ['state', r.keyState],
    ['verified', r.verified.summary],
    ['expiry', r.validTo ? `${r.validTo} (KEY_MATERIAL_EXPIRES)` : 'never (KEY_MATERIAL_DOES_NOT_EXPIRE)'],
    ['KeyMaterialId', r.keyMaterialId],
    ['check value', r.checkValue],
    ['sidecar', r.sidecar ?? 'not reachable: facts not recorded'],
    ['target', target],
  ]);
  io.stdout.write(`\nimport bundle SHA-256:\n${fingerprintLines(r.bundleSha256)}\n`);
}
