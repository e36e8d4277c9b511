/**
 * `kms-byok wrap`: the offline step of an air-gapped ceremony. Reads a parameters bundle, generates
 * (or reads) the material, seals the escrow durably, wraps the material, and writes an import bundle.
 *
 * It needs no AWS SDK client, no network and no credentials: this module and everything it imports
 * never load `kms/aws`, `cli/target` or `@aws-sdk/*` (test/e2e/airgap.test.ts runs it under an import
 * hook that refuses them, with networking disabled).
 */
import { createHash } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { ExitCode, KmsByokError } from '../../core/errors.js';
import type { SecretBytes } from '../../core/secret.js';
import { expectKind, PARAMETERS_FORMAT, runWrap, type ParametersBundle, type WrapDeps } from '../../airgap/ceremony.js';
import type { WrittenEscrow } from '../../ceremony/ports.js';
import { findLatestVersion, nextEscrowVersion, readEscrow } from '../context.js';
import { disposePayload, openEscrow, type EscrowOpener } from '../../escrow/index.js';
import { checkValue } from '../../material/check-value.js';
import { fingerprintLines } from '../../wizard/render.js';
import { bool, missing, str, strs, type Parsed } from '../args.js';
import { helpText, parseCommand } from '../command-spec.js';
import { WRAP } from '../specs/wrap.js';
import { assertBundleCreatable, operator, readBundleFile, readMaterialFile, writeBundleFile } from '../../airgap/bundles.js';
import { consumeHandover, openEscrowVault, readOpener, readSealingInputs } from '../escrow-inputs.js';
import { say, type Io } from '../io.js';
import { printRows } from '../render.js';
import { escrowRef, printDocument } from '../documents.js';


export async function wrap(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(argv, WRAP, io.env);
  if (bool(p, 'help')) {
    io.stdout.write(helpText(WRAP));
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
  const escrowFile = str(p, 'escrow');
  if (escrowFile !== undefined) return rewrapFromEscrow(p, io, bundle, local(escrowFile), outPath);
  const escrowDir = resolve(io.cwd, str(p, 'escrow-dir') ?? 'escrow');
  const materialFile = str(p, 'material-file');
  const material = materialFile === undefined ? undefined : await readMaterialFile(local(materialFile), bundle.key.keySpec);
  const passphraseFile = str(p, 'passphrase-file');
  // Read (and checked) up front like every other input, though only a re-run over an existing escrow uses it.
  const identityFiles = strs(p, 'identity').map(local);
  const custodian: EscrowOpener | undefined = identityFiles.length > 0 ? await readOpener(io, { identities: identityFiles, passphraseFile: undefined }).catch((e: unknown) => {
    material?.dispose();
    throw e;
  }) : undefined;
  try {
    const sealing = await readSealingInputs(io, {
      recipients: strs(p, 'recipient'),
      recipientsFiles: strs(p, 'recipients-file').map(local),
      passphraseFile: passphraseFile === undefined ? undefined : local(passphraseFile),
    });
    try {
      let vault: WrapDeps['escrow'] = await openEscrowVault(escrowDir, io);
      let escrowVersion = await nextEscrowVersion(escrowDir, bundle.key.keyId);
      // A second wrap would seal different material as a newer version the key will never hold, and
      // every lifecycle command reads the newest version: refuse, and keep the first escrow authoritative.
      // The same material again (--material-file, e.g. a wrap interrupted after sealing, run again, or
      // material from kms-byok escrow export) is wrapped with the escrow that already holds it.
      if (escrowVersion > 1) {
        // Proving the escrow holds this very material needs more than a 3-byte check value: a custodian
        // opens it (--identity, or the sealing --passphrase-file when the escrow has a passphrase copy).
        const opener: EscrowOpener | undefined = custodian ?? (sealing.passphrase ? { passphrase: sealing.passphrase } : undefined);
        const sealedBefore = material ? await escrowOfMaterial(escrowDir, bundle, material, opener) : undefined;
        if (!sealedBefore) {
          throw new KmsByokError('ERR_ESCROW_EXISTS', `key ${bundle.key.keyId} already has an escrow in ${escrowDir}`, {
            hint: 'import the import bundle written with that escrow; if its parameters expired, get fresh ones (onboard --export-parameters --key-id) and re-wrap the escrowed material with --material-file from kms-byok escrow export',
          });
        }
        say(io, 'note', `key ${bundle.key.keyId} already has escrow version ${sealedBefore.escrowVersion} of this material (${sealedBefore.written.path}): it stands, nothing new is sealed`);
        escrowVersion = sealedBefore.escrowVersion;
        vault = { write: async () => sealedBefore.written };
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
      if (bool(p, 'json')) printDocument(io, { ...result, escrow: escrowRef(result.escrow, { sidecarPath: resolve(escrowDir, out.escrow.sidecar) }) });
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

/**
 * The latest escrow of the bundle's key in `dir`, when it holds exactly `material` and every sealed
 * file it lists is present and matches its SHA-256: what `wrap` wrote before for this very material.
 * Undefined when it holds other material. Same key ARN, one material and the same check value are
 * required; a full-strength check value (`spki-sha256`, asymmetric keys) settles it, a 3-byte one
 * (symmetric, HMAC: one wrong file in 2^24 would match) only with the escrow opened by `opener` and
 * the bytes compared.
 * @throws KmsByokError ERR_ESCROW_EXISTS when the bytes must be compared and there is no opener
 */
async function escrowOfMaterial(dir: string, bundle: ParametersBundle, material: SecretBytes, opener: EscrowOpener | undefined): Promise<{ escrowVersion: number; written: WrittenEscrow } | undefined> {
  const latest = await findLatestVersion(dir, bundle.key.keyId);
  if (!latest) return undefined;
  const loaded = await readEscrow(latest.sidecarPath);
  const { manifest, materials, files } = loaded.sidecar;
  if (manifest.keyArn !== bundle.key.keyArn || materials.length !== 1 || materials[0]!.checkValue !== checkValue(material, bundle.key.keySpec)) return undefined;
  if (loaded.missing.length > 0) return undefined;
  for (const f of loaded.files) {
    if (files.find((x) => x.name === f.name)?.sha256 !== createHash('sha256').update(f.bytes).digest('hex')) return undefined;
  }
  if (!materials[0]!.checkValue.startsWith('spki-sha256:')) {
    if (!opener) {
      throw new KmsByokError('ERR_ESCROW_EXISTS', `key ${bundle.key.keyId} already has an escrow in ${dir}, with this material's check value`, {
        hint: 'to wrap the escrowed material again, pass --identity FILE (a custodian of that escrow) so wrap can open it and compare the material itself',
      });
    }
    const payload = await openEscrow(loaded, opener, { computeCheckValue: checkValue });
    try {
      if (!payload.materials[0]!.material.equals(material)) return undefined;
    } finally {
      disposePayload(payload);
    }
  }
  const at = (name: string) => join(dirname(loaded.sidecarPath), name);
  const main = files.find((f) => f.role !== 'share' && f.role !== 'component' && f.role !== 'passphrase') ?? files.find((f) => f.role === 'passphrase');
  return {
    escrowVersion: latest.escrowVersion,
    written: {
      path: main ? at(main.name) : loaded.sidecarPath,
      sidecarPath: loaded.sidecarPath,
      files: files.map((f) => ({ path: at(f.name), sha256: f.sha256, role: f.role, ...(f.holder ? { holder: f.holder.label ?? f.holder.recipient } : {}) })),
    },
  };
}

/**
 * `wrap --parameters FILE --escrow ESCROW --identity FILE…`: wraps the material an existing escrow
 * holds for fresh import parameters (an import token that expired before the import, docs/air-gapped.md
 * and docs/disaster-recovery.md), opening the escrow with the custodians' identities — no plaintext
 * export, no second sealing, no new escrow version. The escrow must be the key's latest version and
 * hold one material (what an air-gapped onboard seals); the bundle names it.
 */
async function rewrapFromEscrow(p: Parsed, io: Io, bundle: ParametersBundle, escrowFile: string, outPath: string): Promise<number> {
  const conflicting = ['material-file', 'recipient', 'recipients-file', 'passphrase-file', 'escrow-dir'].filter((f) => (f === 'recipient' || f === 'recipients-file' ? strs(p, f).length > 0 : str(p, f) !== undefined));
  if (conflicting.length > 0) {
    throw new KmsByokError('ERR_INVALID_COMBINATION', `--escrow wraps the material the escrow already holds: --${conflicting[0]} does not apply`, {
      hint: `drop --${conflicting.join(', --')}; the escrow is neither changed nor sealed again`,
    });
  }
  const identityFiles = strs(p, 'identity').map((f) => resolve(io.cwd, f));
  const shareFiles = strs(p, 'share').map((f) => resolve(io.cwd, f));
  if (identityFiles.length === 0 && shareFiles.length === 0) {
    throw new KmsByokError('ERR_MISSING_INPUT', '--escrow needs --identity FILE or --share FILE: custodians open the escrow', {
      hint: 'give one --identity per custodian needed (a threshold escrow: as many as its threshold), or the shares they handed over (kms-byok escrow hand-over) with --share',
    });
  }
  const loaded = await readEscrow(escrowFile);
  const opener = await readOpener(io, { identities: identityFiles, passphraseFile: undefined, shares: shareFiles, escrowDir: dirname(loaded.sidecarPath) });
  const m = loaded.sidecar.manifest;
  if (m.keyArn !== bundle.key.keyArn) {
    throw new KmsByokError('ERR_BUNDLE_WRONG_KEY', `the escrow ${escrowFile} is of ${m.keyArn}, the parameters bundle of ${bundle.key.keyArn}`, { hint: "give the escrow of the parameters bundle's key" });
  }
  const dir = dirname(loaded.sidecarPath);
  const latest = await findLatestVersion(dir, m.keyId);
  if (latest && latest.escrowVersion !== m.escrowVersion) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `${escrowFile} is version ${m.escrowVersion}; the key's latest escrow in ${dir} is version ${latest.escrowVersion}`, { hint: 'give the latest version: every lifecycle command reads it' });
  }
  const payload = await openEscrow(loaded, opener, { computeCheckValue: checkValue });
  let material: SecretBytes;
  try {
    if (payload.materials.length !== 1) {
      throw new KmsByokError('ERR_INVALID_ARGUMENT', `the escrow holds ${payload.materials.length} materials; an import bundle carries one`, { hint: 'restore a key with several materials online: kms-byok restore KEY --escrow-dir DIR --identity FILE' });
    }
    material = payload.materials[0]!.material.clone();
  } finally {
    disposePayload(payload);
  }
  const at = (name: string) => join(dir, name);
  const files = loaded.sidecar.files;
  const main = files.find((f) => f.role !== 'share' && f.role !== 'component' && f.role !== 'passphrase') ?? files.find((f) => f.role === 'passphrase');
  const existing: WrittenEscrow = {
    path: main ? at(main.name) : loaded.sidecarPath,
    sidecarPath: loaded.sidecarPath,
    files: files.map((f) => ({ path: at(f.name), sha256: f.sha256, role: f.role, ...(f.holder ? { holder: f.holder.label ?? f.holder.recipient } : {}) })),
  };
  const out = await runWrap(
    bundle,
    { material, createdBy: operator(), escrowVersion: m.escrowVersion, existing },
    { escrow: { write: async () => existing }, now: () => new Date(), progress: (step) => say(io, null, `✓ ${step}`) },
  );
  await writeBundleFile(outPath, out);
  say(io, null, `✓ wrote the import bundle ${outPath}`);
  await consumeHandover(opener, io);
  const result = { keyId: out.key.keyId, keyArn: out.key.keyArn, importBundle: outPath, checkValue: out.checkValue, escrow: existing.path, parametersValidTo: out.ParametersValidTo, parametersSha256: bundle.sha256, sha256: out.sha256 };
  if (bool(p, 'json')) printDocument(io, { ...result, escrow: escrowRef(existing.path, { sidecarPath: existing.sidecarPath }) });
  else {
    printRows(io, [['key', result.keyArn], ['check value', result.checkValue], ['escrow', `${existing.path} (unchanged)`], ['import bundle', `${outPath} (import before ${result.parametersValidTo})`]]);
    io.stdout.write(`\nimport bundle SHA-256 (compare on the online machine):\n${fingerprintLines(out.sha256)}\n`);
    io.stdout.write(`\nnext, online: kms-byok import --bundle ${outPath}\n`);
  }
  return ExitCode.ok;
}
