/**
 * `kms-byok onboard`: flags → OnboardOptions → runOnboard over the chosen target. Every local input
 * (flags, recipients, passphrase, escrow directory) is checked here before any KMS call.
 */
import { readableCheckValue } from '../../material/check-value.js';
import { readFile } from 'node:fs/promises';
import type { SecretBytes } from '../../core/secret.js';
import { basename, dirname, resolve } from 'node:path';
import { ExitCode, KmsByokError } from '../../core/errors.js';
import type { KmsPort } from '../../kms/port.js';
import { parseDuration, parseIsoTime } from '../../core/time.js';
import { resolveValidTo, type ExpiryChoice, type OnboardOptions, type OnboardResult } from '../../ceremony/onboard.js';
import {
  assertKeyUsageAllowed,
  assertWrappingAllowed,
  chooseWrapping,
  importableKeySpecInfo,
  parseKeySpec,
  parseKeyUsage,
  parseWrappingAlgorithm,
  parseWrappingKeySpec,
} from '../../material/key-specs.js';
import { assertAliasName } from '../../core/alias.js';
import { assertBundleCreatable, operator, readMaterialFile, writeBundleFile } from '../../airgap/bundles.js';
import { fingerprintLines } from '../../wizard/render.js';
import { bool, missing, str, type Parsed } from '../args.js';
import { helpText, parseCommand } from '../command-spec.js';
import { ONBOARD } from '../specs/onboard.js';
import { hsmFlagsGiven } from '../hsm-flags.js';
import { say, type Io } from '../io.js';
import { printRows } from '../render.js';
import { onboardDocument, printDocument } from '../documents.js';
import { assertTargetChosen, describeCaller, openTarget } from '../target.js';
import { openEscrowVault, readOnboardSealing } from '../escrow-inputs.js';
import { latestEscrow, openJournal } from '../context.js';
import { openOnboardJournal } from '../../records/onboard-journal.js';


/**
 * Exactly one of --valid-to, --expires-in, --no-expiry (AWS defaults ExpirationModel to KEY_MATERIAL_EXPIRES),
 * checked at once as KMS will check it (in the future, at most 365 days ahead): every command that sets a
 * ValidTo (onboard, reimport, restore, rotate) refuses a bad one before reading, creating or sending anything.
 */
export function parseExpiry(p: Parsed): ExpiryChoice {
  const expiry = expiryFlags(p);
  resolveValidTo(expiry, new Date());
  return expiry;
}

function expiryFlags(p: Parsed): ExpiryChoice {
  const validTo = str(p, 'valid-to');
  const expiresIn = str(p, 'expires-in');
  const noExpiry = bool(p, 'no-expiry');
  const given = [validTo !== undefined, expiresIn !== undefined, noExpiry].filter(Boolean).length;
  if (given === 0) {
    throw missing('--valid-to, --expires-in or --no-expiry', 'choose when the imported material expires', 'pass --expires-in 90d (AWS allows at most 365d), --valid-to 2027-06-30T00:00:00Z, or --no-expiry');
  }
  if (given > 1) {
    throw new KmsByokError('ERR_USAGE', 'give only one of --valid-to, --expires-in and --no-expiry', { hint: 'pick one expiry choice' });
  }
  if (noExpiry) return { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' };
  if (validTo !== undefined) return { ExpirationModel: 'KEY_MATERIAL_EXPIRES', validTo: parseIsoTime(validTo, '--valid-to') };
  return { ExpirationModel: 'KEY_MATERIAL_EXPIRES', expiresInMs: parseDuration(expiresIn!, '--expires-in') };
}

function parseAlias(p: Parsed): string | undefined {
  const alias = str(p, 'alias');
  if (alias === undefined) return undefined;
  return assertAliasName(alias);
}

export async function onboard(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(argv, ONBOARD, io.env);
  if (bool(p, 'help')) {
    io.stdout.write(helpText(ONBOARD));
    return ExitCode.ok;
  }
  if (p.positionals.length > 0) {
    throw new KmsByokError('ERR_USAGE', `unexpected argument "${p.positionals[0]}"`, { hint: 'run kms-byok onboard --help' });
  }
  // Precondition: all local validation before anything touches KMS.
  const keySpecText = str(p, 'key-spec');
  const keySpec = keySpecText === undefined ? 'SYMMETRIC_DEFAULT' : parseKeySpec(keySpecText);
  const info = importableKeySpecInfo(keySpec);
  const usageText = str(p, 'key-usage');
  const keyUsage = usageText === undefined ? info.defaultKeyUsage : parseKeyUsage(usageText);
  assertKeyUsageAllowed(keySpec, keyUsage);
  const chosen = chooseWrapping(keySpec);
  const algText = str(p, 'wrapping-algorithm');
  const wksText = str(p, 'wrapping-key-spec');
  const wrapping = {
    WrappingAlgorithm: algText === undefined ? chosen.algorithm : parseWrappingAlgorithm(algText),
    WrappingKeySpec: wksText === undefined ? chosen.wrappingKeySpec : parseWrappingKeySpec(wksText),
  };
  assertWrappingAllowed(keySpec, wrapping.WrappingAlgorithm, wrapping.WrappingKeySpec);
  const expiry = parseExpiry(p);
  const alias = parseAlias(p);
  if (!bool(p, 'yes')) {
    throw new KmsByokError('ERR_MISSING_INPUT', 'missing --yes: onboard creates a KMS key and imports material into it', {
      hint: 'review the flags, then re-run with --yes to confirm (the wizard asks interactively)',
    });
  }
  if (hsmFlagsGiven(p)) {
    const hsm = await import('../hsm-run.js');
    if (hsm.wantsHsmCustody(p)) return hsm.runHsmCommand('onboard', p, io, expiry, argv);
  }
  const exportPath = str(p, 'export-parameters');
  if (exportPath !== undefined) return exportParameters(p, io, resolve(io.cwd, exportPath), { keySpec, keyUsage, wrapping, expiry, ...(alias ? { alias } : {}) });
  if (str(p, 'key-id') !== undefined) {
    throw new KmsByokError('ERR_USAGE', '--key-id is only for --export-parameters (fresh parameters for a key of step 1)', { hint: 'run kms-byok onboard --help' });
  }
  const escrowDir = resolve(io.cwd, str(p, 'escrow-dir') ?? 'escrow');
  const policyFile = str(p, 'apply-policy');
  const policy = policyFile === undefined ? undefined : await readPolicyFile(resolve(io.cwd, policyFile));
  const materialFile = str(p, 'material-file');
  const sealing = await readOnboardSealing(p, io);
  // Secrets are read last, each disposed in the finally below even when a later read fails.
  let material: SecretBytes | undefined;
  try {
    material = materialFile === undefined ? undefined : await readMaterialFile(resolve(io.cwd, materialFile), keySpec);
    // Before the escrow directory is touched: openTarget checks again, too late for that.
    assertTargetChosen(p, io);
    const vault = await openEscrowVault(escrowDir, io);
    const { preflightTranscript, transcriptPathOf } = await import('../ceremony-run.js');
    await preflightTranscript(transcriptPathOf(p, io, escrowDir));
    // The journal is named by this invocation's inputs: the same command finds the run it interrupted.
    const journal = await openOnboardJournal(p, io, escrowDir);
    const requests: string[] = [];
    const target = await openTarget(p, io, { onRequest: (op, id) => requests.push(`${op} ${id ?? '(no request id)'}`) });
    const started = new Date();
    let result: OnboardResult | undefined;
    let failure: unknown;
    try {
      const { runOnboard } = await import('../../ceremony/onboard.js');
      const options: OnboardOptions = {
        keySpec,
        keyUsage,
        wrapping,
        ...(material ? { material } : {}),
        ...(policy ? { policy } : {}),
        expiry,
        sealing,
        createdBy: operator(),
        ...(alias ? { alias } : {}),
        ...(str(p, 'description') ? { description: str(p, 'description')! } : {}),
      };
      result = await runOnboard(options, {
        kms: target.kms,
        escrow: { ...vault, latest: (keyId) => latestEscrow(escrowDir, keyId) },
        journal,
        resumeCommand: `kms-byok onboard ${argv.join(' ')}`,
        now: target.now,
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
        progress: (step) => say(io, null, `✓ ${step}`),
      });
      await journal.finish();
      render(io, result, bool(p, 'json'), target.label, bool(p, 'full-check-value'));
      return ExitCode.ok;
    } catch (e) {
      failure = e;
      throw e;
    } finally {
      try {
        await recordOnboard(p, io, { escrowDir, started, result, failure, requests, target: target.label, caller: describeCaller(await target.caller()), alias, keyArn: result?.keyArn ?? journal.facts().keyArn, journal: journal.path, kms: target.kms });
      } finally {
        await target.close();
      }
    }
  } finally {
    sealing.passphrase?.dispose();
    material?.dispose();
  }
}

/**
 * Reads a key policy document for --apply-policy: JSON with a Statement list. KMS applies its own
 * checks at CreateKey (malformed documents, the policy lockout safety check) before creating anything.
 */
async function readPolicyFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new KmsByokError('ERR_FILE_READ', `cannot read --apply-policy ${path} (${(e as { code?: string }).code ?? 'error'})`, { hint: 'check the path; nothing was created' });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `--apply-policy ${path} is not JSON`, { hint: 'give a key policy document, e.g. the output of kms-byok policy --json' });
  }
  if (typeof doc !== 'object' || doc === null || !Array.isArray((doc as { Statement?: unknown }).Statement)) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `--apply-policy ${path} has no Statement list`, { hint: 'give a key policy document, e.g. the output of kms-byok policy --json' });
  }
  return text;
}

/**
 * Appends the ceremony record to the transcript (every ceremony, failures too, with KMS request ids
 * and the escrow's SHA-256s) and runs --notify-command. A successful onboard whose entry cannot be
 * written fails with ERR_TRANSCRIPT (exit 1) after saying what KMS did; a failed one keeps its error.
 */
async function recordOnboard(
  p: Parsed,
  io: Io,
  r: { escrowDir: string; started: Date; result: OnboardResult | undefined; failure: unknown; requests: string[]; target: string; caller: string; alias: string | undefined; keyArn: string | undefined; journal: string; kms: KmsPort },
): Promise<void> {
  const { anchorTranscriptHead, appendTranscript, escrowFacts, notifyDocument, transcriptFailure, transcriptPathOf } = await import('../ceremony-run.js');
  const transcript = transcriptPathOf(p, io, r.escrowDir);
  const outcome = r.result
    ? `key ${r.result.keyId} Enabled; ${r.result.verified.summary}`
    : r.failure instanceof KmsByokError
      ? `failed: ${r.failure.code}: ${r.failure.message}`
      : `failed: ${r.failure instanceof Error ? r.failure.message : String(r.failure)}`;
  let unrecorded: unknown;
  await appendTranscript(io, transcript, {
    ceremony: 'onboard',
    time: r.started.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    outcome,
    fields: [
      ['operator', operator()],
      ['AWS caller', r.caller],
      ['target', r.target],
      ['key', r.keyArn],
      ['alias', r.alias],
      ['journal', r.result ? undefined : r.journal],
      ['expiry', r.result ? (r.result.validTo ?? 'never (KEY_MATERIAL_DOES_NOT_EXPIRE)') : undefined],
      ...(await escrowFacts(r.escrowDir, r.result?.keyId ?? r.keyArn?.split('/').pop())),
      ['KMS requests', r.requests],
    ],
  }).then(
    (appended) => (r.result ? anchorTranscriptHead(io, r.kms, [r.result.keyArn], appended.head) : undefined),
    (e: unknown) => {
      unrecorded = e;
    },
  );
  const hook = str(p, 'notify-command');
  if (hook !== undefined) {
    const { notify } = await import('../../records/notify.js');
    await notify(io, hook, notifyDocument('onboard', r.result && onboardDocument(r.result), r.failure));
  }
  if (unrecorded !== undefined) {
    if (r.result !== undefined) throw transcriptFailure(transcript, outcome, unrecorded);
    say(io, 'error', `the transcript entry of this failed onboard could not be written: ${unrecorded instanceof Error ? unrecorded.message : String(unrecorded)}`);
  }
}

function render(io: Io, r: OnboardResult, json: boolean, target: string, full: boolean): void {
  if (json) {
    printDocument(io, { ...onboardDocument(r), target });
    return;
  }
  printRows(io, [
    ['key', r.keyArn],
    ['alias', r.alias],
    ['state', `${r.keyState} (origin ${r.origin}, ${r.keySpec}, ${r.keyUsage})`],
    ['verified', `${r.verified.summary}${r.verified.keyMaterialIdConfirmed ? '; KeyMaterialId confirmed by re-import' : ''}`],
    ['expiry', r.validTo ? `${r.validTo} (KEY_MATERIAL_EXPIRES)` : 'never (KEY_MATERIAL_DOES_NOT_EXPIRE)'],
    ['KeyMaterialId', r.keyMaterialId],
    ['check value', full ? r.checkValue : readableCheckValue(r.checkValue)],
    ['wrapping', `${r.wrappingAlgorithm} with ${r.wrappingKeySpec}`],
    ['escrow', r.escrow.path],
    ['target', target],
  ]);
}

/** Flags that belong to the offline step (`wrap`), refused with --export-parameters. */
const OFFLINE_FLAGS = ['recipient', 'recipients-file', 'passphrase-file', 'threshold', 'split', 'escrow-dir', 'material-file'] as const;

/**
 * Air-gapped step 1: create the key (+ alias), fetch import parameters, write them to a parameters
 * bundle (create-only, 0600), and stop. With --key-id: fresh parameters for that key, nothing created.
 */
async function exportParameters(
  p: Parsed,
  io: Io,
  path: string,
  o: Pick<OnboardOptions, 'keySpec' | 'keyUsage' | 'wrapping' | 'expiry' | 'alias'>,
): Promise<number> {
  const misplaced = OFFLINE_FLAGS.filter((f) => p.values[f] !== undefined);
  if (misplaced.length > 0) {
    throw new KmsByokError('ERR_USAGE', `--${misplaced[0]} belongs to the offline step, not to --export-parameters`, {
      hint: 'give the material and the escrow flags to kms-byok wrap --parameters FILE on the offline machine',
    });
  }
  const existingKeyId = str(p, 'key-id');
  if (existingKeyId !== undefined && (o.alias || str(p, 'description'))) {
    throw new KmsByokError('ERR_USAGE', '--key-id fetches fresh parameters for an existing key: --alias and --description do not apply', { hint: 'drop them' });
  }
  await assertBundleCreatable(path, '--export-parameters');
  // Journalled by the bundle path: the same command re-run after an interruption finishes the same key.
  const journal = existingKeyId === undefined ? await openJournal(io, dirname(path), 'export-parameters', basename(path)) : undefined;
  const target = await openTarget(p, io);
  try {
    const { runExportParameters } = await import('../../airgap/ceremony.js');
    const bundle = await runExportParameters(
      { ...o, ...(str(p, 'description') ? { description: str(p, 'description')! } : {}), ...(existingKeyId ? { existingKeyId } : {}) },
      { kms: target.kms, now: target.now, sleep: (ms) => new Promise((r) => setTimeout(r, ms)), progress: (step) => say(io, null, `✓ ${step}`), ...(journal ? { journal } : {}) },
    );
    await writeBundleFile(path, bundle);
    await journal?.finish();
    say(io, null, `✓ wrote the parameters bundle ${path}`);
    const result = {
      keyId: bundle.key.keyId,
      keyArn: bundle.key.keyArn,
      ...(bundle.key.alias ? { alias: bundle.key.alias } : {}),
      parametersBundle: path,
      parametersValidTo: bundle.ParametersValidTo,
      wrappingAlgorithm: bundle.WrappingAlgorithm,
      wrappingKeySpec: bundle.WrappingKeySpec,
      sha256: bundle.sha256,
      target: target.label,
    };
    if (bool(p, 'json')) printDocument(io, result);
    else {
      printRows(io, [
        ['key', result.keyArn],
        ['alias', result.alias],
        ['state', 'PendingImport (no material yet)'],
        ['parameters', `${path} (import token valid until ${result.parametersValidTo})`],
        ['wrapping', `${result.wrappingAlgorithm} with ${result.wrappingKeySpec}`],
        ['target', result.target],
      ]);
      io.stdout.write(`\nparameters bundle SHA-256 (compare on the offline machine):\n${fingerprintLines(bundle.sha256)}\n`);
      io.stdout.write(`\nnext, offline: kms-byok wrap --parameters ${path} --recipient age1… --out import.json\n`);
    }
    return ExitCode.ok;
  } finally {
    await target.close();
  }
}
