/**
 * `kms-byok onboard`: flags → OnboardOptions → runOnboard over the chosen target. Every local input
 * (flags, recipients, passphrase, escrow directory) is checked here before any KMS call.
 */
import { readFile } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { resolve } from 'node:path';
import { ExitCode, KmsByokError } from '../../core/errors.js';
import { parseDuration, parseIsoTime } from '../../core/time.js';
import type { ExpiryChoice, OnboardOptions, OnboardResult } from '../../ceremony/onboard.js';
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
import { parseMaterial } from '../../material/parse.js';
import type { SecretBytes } from '../../core/secret.js';
import type { KeySpec } from '../../core/aws-names.js';
import { OUTPUT_FLAGS, TARGET_FLAGS, bool, missing, parseFlags, str, strs, type Parsed } from '../args.js';
import { say, type Io } from '../io.js';
import { printJson, printRows } from '../render.js';
import { openTarget } from '../target.js';
import { ONBOARD_USAGE } from '../usage.js';
import { openEscrowVault, readSealingInputs } from '../escrow-inputs.js';

const FLAGS = {
  ...TARGET_FLAGS,
  ...OUTPUT_FLAGS,
  yes: { type: 'boolean' },
  alias: { type: 'string' },
  description: { type: 'string' },
  'valid-to': { type: 'string' },
  'expires-in': { type: 'string' },
  'no-expiry': { type: 'boolean' },
  'wrapping-algorithm': { type: 'string' },
  'wrapping-key-spec': { type: 'string' },
  recipient: { type: 'string', multiple: true },
  'recipients-file': { type: 'string', multiple: true },
  'passphrase-file': { type: 'string' },
  'escrow-dir': { type: 'string' },
  'key-spec': { type: 'string' },
  'key-usage': { type: 'string' },
  'material-file': { type: 'string' },
} as const;

const ALIAS = /^alias\/[a-zA-Z0-9/_-]{1,250}$/;

/** Exactly one of --valid-to, --expires-in, --no-expiry (AWS defaults ExpirationModel to KEY_MATERIAL_EXPIRES). */
export function parseExpiry(p: Parsed): ExpiryChoice {
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
  if (!ALIAS.test(alias) || alias.startsWith('alias/aws/')) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `invalid --alias "${alias}"`, {
      hint: 'use alias/NAME with letters, digits, / _ - (alias/aws/ is reserved for AWS)',
    });
  }
  return alias;
}

export async function onboard(argv: string[], io: Io): Promise<number> {
  const p = parseFlags(argv, FLAGS, 'onboard');
  if (bool(p, 'help')) {
    io.stdout.write(ONBOARD_USAGE);
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
  const escrowDir = resolve(io.cwd, str(p, 'escrow-dir') ?? 'escrow');
  const materialFile = str(p, 'material-file');
  const material = materialFile === undefined ? undefined : await readMaterialFile(resolve(io.cwd, materialFile), keySpec);
  const sealing = await readSealingInputs(io, {
    recipients: strs(p, 'recipient'),
    recipientsFiles: strs(p, 'recipients-file'),
    passphraseFile: str(p, 'passphrase-file'),
  });
  try {
    const vault = await openEscrowVault(escrowDir, io);
    const target = await openTarget(p, io);
    try {
      const { runOnboard } = await import('../../ceremony/onboard.js');
      const options: OnboardOptions = {
        keySpec,
        keyUsage,
        wrapping,
        ...(material ? { material } : {}),
        expiry,
        sealing,
        createdBy: operator(),
        ...(alias ? { alias } : {}),
        ...(str(p, 'description') ? { description: str(p, 'description')! } : {}),
      };
      const result = await runOnboard(options, {
        kms: target.kms,
        escrow: vault,
        now: () => new Date(),
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
        progress: (step) => say(io, null, `✓ ${step}`),
      });
      render(io, result, bool(p, 'json'), target.label);
      return ExitCode.ok;
    } finally {
      await target.close();
    }
  } finally {
    sealing.passphrase?.dispose();
    material?.dispose();
  }
}

/**
 * Reads a custodian's existing material (raw, hex, base64, or PKCS#8 PEM/DER) and checks it against
 * the key spec. The file's bytes are zeroed once parsed; the material is never copied unsealed.
 */
async function readMaterialFile(path: string, keySpec: KeySpec): Promise<SecretBytes> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new KmsByokError('ERR_FILE_READ', `cannot read --material-file ${path} (${(e as { code?: string }).code ?? 'error'})`, {
      hint: 'check the path; nothing was created',
    });
  }
  try {
    return parseMaterial(bytes, keySpec);
  } finally {
    bytes.fill(0);
  }
}

function operator(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    /* no passwd entry (containers): keep "unknown" */
  }
  return `${user}@${hostname()}`;
}

function render(io: Io, r: OnboardResult, json: boolean, target: string): void {
  if (json) {
    printJson(io, { ...r, target });
    return;
  }
  printRows(io, [
    ['key', r.keyArn],
    ['alias', r.alias],
    ['state', `${r.keyState} (origin ${r.origin}, ${r.keySpec}, ${r.keyUsage})`],
    ['verified', `${r.verified.summary}${r.verified.keyMaterialIdConfirmed ? '; KeyMaterialId confirmed by re-import' : ''}`],
    ['expiry', r.validTo ? `${r.validTo} (KEY_MATERIAL_EXPIRES)` : 'never (KEY_MATERIAL_DOES_NOT_EXPIRE)'],
    ['KeyMaterialId', r.keyMaterialId],
    ['check value', r.checkValue],
    ['wrapping', `${r.wrappingAlgorithm} with ${r.wrappingKeySpec}`],
    ['escrow', r.escrow.path],
    ['target', target],
  ]);
}
