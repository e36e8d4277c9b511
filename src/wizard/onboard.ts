/**
 * The onboard wizard: asks exactly what the `onboard` flags take, with safe defaults, validating each
 * answer as it is typed, and returns the argv of the equivalent `kms-byok onboard` command. The CLI
 * runs that argv through the very same command code, so the wizard and the flags cannot build two
 * different `OnboardOptions`. Nothing here has effects: files are checked through the context.
 */
import type { KeySpec, KeyUsage, WrappingAlgorithm, WrappingKeySpec } from '../core/aws-names.js';
import { DAY_MS, parseDuration, parseIsoTime } from '../core/time.js';
import { check, keySpecChoices, type KeySpecChoice } from '../ceremony/choices.js';
import type { Prompter } from './prompter.js';

/** What a flow needs from the CLI: the clock, the target, and file checks (the wizard has no fs). */
export interface WizardContext {
  now(): Date;
  target: {
    /** Target flags the wizard was started with; passed through to the command. */
    argv: string[];
    /** Whether flags or environment already point at AWS (or an endpoint). */
    configured: boolean;
    /** e.g. "AWS KMS (eu-west-1, profile prod)" when configured. */
    label: string;
  };
  files: {
    /** `true` when `path` (relative to the working directory) can be read, else the reason. */
    readable(path: string): true | string;
    /** `true` when a new file can be created at `path` (it must not exist), else the reason. */
    creatable(path: string): true | string;
    /** A bundle's summary (format and fingerprint checked), or the reason it cannot be used. */
    bundle(path: string): BundleSummary | string;
  };
  /**
   * Opens the chosen target for questions that need KMS or STS (absent in flows that never do): the
   * alias checked free as it is typed, and the account named before the confirmation.
   */
  probe?(targetArgv: string[]): Promise<TargetProbe>;
  /**
   * Who holds the latest escrow of `key` in `escrowDir` (its sidecar; an alias resolved in the
   * target), so a lifecycle flow asks for as many identities as opening it takes. Undefined when no
   * escrow is found (the command then says why).
   */
  custodyOf?(targetArgv: string[], escrowDir: string, key: string): Promise<EscrowCustody | undefined>;
  /**
   * What a hand-over file (`kms-byok escrow hand-over`, docs/custody.md "Hand-over") says, checked
   * for the escrow `custody` describes and against the open one-time recipients of `escrowDir`; or
   * the reason it cannot be used. Reads files only; the share inside is opened by the command.
   */
  handover?(path: string, escrowDir: string, custody: EscrowCustody): Promise<HandoverSummary | string>;
}

/** How an escrow is held: how many custodians must open it, the mode, and their names. */
export interface EscrowCustody {
  needed: number;
  mode: string;
  custodians: string[];
  passphrase: boolean;
  /** Split escrows (m-of-n shares or XOR components) can be opened by handed-over parts. */
  split?: 'share' | 'component';
  keyId?: string;
  escrowVersion?: number;
  /** The escrow file custodians name in `kms-byok escrow hand-over`. */
  escrowFile?: string;
  /**
   * The check values the escrow's sidecar recorded at seal time for each split part, by its 1-based
   * index (docs/escrow-format.md, "Share check values"; a component has one per material). A part
   * without a recorded value (a sidecar written before them) is absent.
   */
  recordedCheckValues?: Record<number, string[]>;
}

/** A hand-over file as the host sees it before the ceremony. */
export interface HandoverSummary {
  role: 'share' | 'component';
  index: number;
  custodian: string;
  /** The sidecar's recorded values when it has them (the file's own matched them), else the file's own. */
  checkValues: string[];
  /** `checkValues` are the escrow sidecar's, not only what the hand-over file says of itself. */
  recorded: boolean;
}

/** What the wizard asks of the target while it asks its questions. Never creates anything. */
export interface TargetProbe {
  /** `true` when no alias of that name exists in the target (DescribeKey), else the reason. */
  aliasFree(alias: string): Promise<true | string>;
  /** "Region R, AWS account A (as ARN)", or what could not be learned, from sts:GetCallerIdentity. */
  where(): Promise<string>;
  close(): Promise<void>;
}

/** What the wizard shows of an air-gapped bundle before it is used. */
export interface BundleSummary {
  kind: 'parameters' | 'import';
  sha256: string;
  keyArn: string;
  keySpec: string;
  alias?: string;
  parametersValidTo: string;
  checkValue?: string;
}

export interface TargetAnswer {
  argv: string[];
  /** Where things will be created, for the consequences paragraph. */
  label: string;
  rehearsal: boolean;
}

/** Where the ceremony runs. Offers the embedded emulator when nothing points at AWS. */
export async function askTarget(p: Prompter, ctx: WizardContext): Promise<TargetAnswer> {
  if (ctx.target.configured || ctx.target.argv.length > 0) {
    p.say(`Target: ${ctx.target.label}`);
    return { argv: ctx.target.argv, label: ctx.target.label, rehearsal: /emulator/.test(ctx.target.label) };
  }
  p.say('No AWS profile, Region or endpoint is configured (--profile, --region, AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL_KMS).');
  const where = await p.select({
    id: 'target',
    message: 'Where should the ceremony run?',
    choices: [
      { value: 'emulator', name: 'the embedded KMS emulator (a rehearsal: nothing is created in AWS)' },
      { value: 'aws', name: 'AWS KMS (give a Region and optionally a profile)' },
    ],
    default: 'emulator',
  });
  if (where === 'emulator') {
    const state = (await p.input({ id: 'emulatorState', message: 'Keep the emulator state in a file (empty: discard on exit)', default: '' })).trim();
    return {
      argv: ['--emulator', ...(state ? ['--emulator-state', state] : [])],
      label: `the embedded KMS emulator (rehearsal${state ? `, state in ${state}` : ', discarded on exit'})`,
      rehearsal: true,
    };
  }
  const region = (await p.input({ id: 'region', message: 'AWS Region', validate: check.region })).trim();
  const profile = (await p.input({ id: 'profile', message: 'AWS profile (empty: the default credential chain)', default: '' })).trim();
  return {
    argv: ['--region', region, ...(profile ? ['--profile', profile] : [])],
    label: `AWS KMS in ${region} (the account of ${profile ? `profile ${profile}` : 'the default credentials'})`,
    rehearsal: false,
  };
}

export interface KeyAnswer {
  keySpec: KeySpec;
  keyUsage: KeyUsage;
  wrapping: { algorithm: WrappingAlgorithm; wrappingKeySpec: WrappingKeySpec };
  alias?: string;
  description?: string;
  argv: string[];
}

const KIND_NAMES: Record<string, string> = { symmetric: 'AES-256 encryption', hmac: 'HMAC', rsa: 'RSA', ecc: 'elliptic curve' };

/** Key spec, usage, wrapping (the key-spec chooser's pick by default), alias and description. */
export async function askKey(p: Prompter, probe?: TargetProbe): Promise<KeyAnswer> {
  const choices = keySpecChoices();
  const keySpec = await p.select<KeySpec>({
    id: 'keySpec',
    message: 'Key spec',
    choices: choices.map((c) => ({ value: c.spec, name: `${c.spec} (${KIND_NAMES[c.kind] ?? c.kind})` })),
    default: 'SYMMETRIC_DEFAULT',
  });
  const choice = choices.find((c) => c.spec === keySpec) as KeySpecChoice;
  const argv = ['--key-spec', keySpec];
  let keyUsage = choice.defaultKeyUsage;
  if (choice.keyUsages.length > 1) {
    keyUsage = await p.select<KeyUsage>({
      id: 'keyUsage',
      message: 'Key usage (it can never be changed)',
      choices: choice.keyUsages.map((u) => ({ value: u, name: u })),
      default: choice.defaultKeyUsage,
    });
    argv.push('--key-usage', keyUsage);
  }
  const recommended = choice.wrappings[0]!;
  const label = (w: { algorithm: string; wrappingKeySpec: string }) => `${w.algorithm}/${w.wrappingKeySpec}`;
  const wrappingText = await p.select<string>({
    id: 'wrapping',
    message: 'Wrapping algorithm and wrapping key',
    choices: choice.wrappings.map((w, i) => ({ value: label(w), name: `${w.algorithm} with an ${w.wrappingKeySpec} wrapping key${i === 0 ? ' (recommended)' : ''}` })),
    default: label(recommended),
  });
  const wrapping = choice.wrappings.find((w) => label(w) === wrappingText)!;
  if (wrapping !== recommended) argv.push('--wrapping-algorithm', wrapping.algorithm, '--wrapping-key-spec', wrapping.wrappingKeySpec);
  const aliasFree = async (text: string): Promise<true | string> => {
    const syntax = check.alias(text);
    if (syntax !== true || text.trim() === '' || !probe) return syntax;
    return probe.aliasFree(text.trim());
  };
  const alias = (await p.input({ id: 'alias', message: 'Alias (alias/NAME, empty for none)', default: '', validate: aliasFree })).trim();
  if (alias) argv.push('--alias', alias);
  const description = (await p.input({ id: 'description', message: 'Key description (empty for none)', default: '' })).trim();
  if (description) argv.push('--description', description);
  return { keySpec, keyUsage, wrapping, ...(alias ? { alias } : {}), ...(description ? { description } : {}), argv };
}

export interface ExpiryAnswer {
  argv: string[];
  /** For the consequences paragraph, e.g. "expires 2027-11-22T10:00:00Z (in 365 days)". */
  text: string;
}

/** When the imported material expires: a duration (365d suggested), a date, or never. */
export async function askExpiry(p: Prompter, ctx: WizardContext): Promise<ExpiryAnswer> {
  const kind = await p.select({
    id: 'expiry',
    message: 'When does the imported material expire?',
    choices: [
      { value: 'in', name: 'after a duration (e.g. 365d; AWS allows at most 365 days)' },
      { value: 'at', name: 'at a date (ISO-8601 UTC)' },
      { value: 'never', name: 'never (KEY_MATERIAL_DOES_NOT_EXPIRE)' },
    ],
    default: 'in',
  });
  if (kind === 'never') return { argv: ['--no-expiry'], text: 'never expires (KEY_MATERIAL_DOES_NOT_EXPIRE)' };
  if (kind === 'in') {
    const text = (await p.input({ id: 'expiresIn', message: 'Expires in (m, h, d or w)', default: '365d', validate: check.expiresIn })).trim();
    const at = new Date(ctx.now().getTime() + parseDuration(text, 'expiry'));
    return { argv: ['--expires-in', text], text: `expires ${text} after the import, around ${at.toISOString().slice(0, 10)}` };
  }
  const suggested = new Date(ctx.now().getTime() + 365 * DAY_MS).toISOString().slice(0, 10);
  const text = (await p.input({ id: 'validTo', message: 'Expires at (e.g. 2027-06-30 or 2027-06-30T00:00:00Z)', default: suggested, validate: (t) => check.validTo(t, ctx.now()) })).trim();
  return { argv: ['--valid-to', text], text: `expires at ${parseIsoTime(text, 'expiry').toISOString()}` };
}

export interface SealingAnswer {
  argv: string[];
  custodians: string[];
  mode: OnboardPlan['mode'];
  /** "custodians age1…, age1…" or "whoever holds the passphrase in FILE". */
  who: string;
  escrowDir: string;
}

/** Who can open the escrow (age recipients, a recipients file, or a passphrase file) and where it goes. */
export async function askSealing(p: Prompter, ctx: WizardContext): Promise<SealingAnswer> {
  const how = await p.select({
    id: 'sealing',
    message: 'Who can open the escrow?',
    choices: [
      { value: 'recipients', name: 'custodians, by their age recipients (age1…, from age-keygen)' },
      { value: 'recipients-file', name: 'custodians listed in a recipients file' },
      { value: 'passphrase-file', name: 'whoever knows a passphrase (kept in a file)' },
    ],
    default: 'recipients',
  });
  const argv: string[] = [];
  let who: string;
  let custodians: string[] = [];
  let custody: OnboardPlan['mode'] = 'any';
  if (how === 'recipients') {
    const recipients: string[] = [];
    do {
      recipients.push((await p.input({ id: 'recipient', message: `Custodian ${recipients.length + 1}: NAME=age1… (or just age1…)`, validate: check.namedRecipient })).trim());
    } while (await p.confirm({ id: 'moreRecipients', message: 'Add another custodian?', default: false }));
    for (const r of recipients) argv.push('--recipient', r);
    const names = recipients.map((r) => {
      const eq = r.indexOf('=');
      const bare = eq > 0 ? r.slice(eq + 1) : r;
      return eq > 0 ? r.slice(0, eq) : bare.length > 24 ? `${bare.slice(0, 14)}…${bare.slice(-6)}` : bare;
    });
    const n = recipients.length;
    const mode = n < 2 ? 'any' : await p.select({
      id: 'custody',
      message: 'How many custodians are needed to open it?',
      choices: [
        { value: 'any', name: `any one of the ${n} (each holds a full copy)` },
        { value: 'threshold', name: `a threshold: any M of the ${n} (m-of-n shares)` },
        { value: 'xor', name: `all ${n} together (XOR components: every one is needed)` },
      ],
      default: 'any',
    });
    if (mode === 'threshold') {
      const m = (await p.input({ id: 'threshold', message: `Threshold M (2 to ${n})`, default: String(Math.min(2, n)), validate: (t) => (/^\d+$/.test(t.trim()) && Number(t) >= 2 && Number(t) <= n ? true : `give a whole number from 2 to ${n}`) })).trim();
      argv.push('--threshold', m);
      who = `any ${m} of ${n} custodians together (${names.join(', ')}), each with their own age identity`;
    } else if (mode === 'xor') {
      argv.push('--split', 'xor');
      who = `all ${n} custodians together (${names.join(', ')}), each with their own age identity; losing any one component loses the escrow`;
    } else who = `any one of ${n} custodian${n > 1 ? 's' : ''} (${names.join(', ')}) with their age identity`;
    if (mode === 'threshold' || mode === 'xor') {
      const renewal = await askRenewalRecipient(p, recipients);
      if (renewal) {
        argv.push('--renewal-recipient', renewal);
        who += `; the scheduler ${renewal.includes('=') ? renewal.slice(0, renewal.indexOf('=')) : 'of the renewal seal'} alone can re-import it (renewal seal)`;
      }
    }
    custodians = names;
    custody = mode as OnboardPlan['mode'];
  } else if (how === 'recipients-file') {
    const file = (await p.input({ id: 'recipientsFile', message: 'Recipients file', validate: ctx.files.readable })).trim();
    argv.push('--recipients-file', file);
    who = `any one of the custodians listed in ${file}, with their age identity`;
  } else {
    const file = (await p.input({ id: 'passphraseFile', message: 'Passphrase file (the passphrase is never typed here)', validate: ctx.files.readable })).trim();
    argv.push('--passphrase-file', file);
    who = `whoever knows the passphrase now in ${file}`;
    custody = 'passphrase';
  }
  const escrowDir = (await p.input({ id: 'escrowDir', message: 'Escrow directory', default: './escrow', validate: check.nonEmpty('a directory') })).trim();
  argv.push('--escrow-dir', escrowDir);
  return { argv, who, escrowDir, custodians, mode: custody };
}

/** The bare `age1…` of `NAME=age1…` (or of `age1…`). */
function bareRecipient(text: string): string {
  const eq = text.indexOf('=');
  return (eq > 0 ? text.slice(eq + 1) : text).trim();
}

/**
 * An optional renewal seal for a split escrow (`--renewal-recipient`, docs/escrow-format.md "Renewal
 * seals"): a scheduler's own recipient that opens the whole escrow alone for a scheduled reimport.
 * Validated as the flag is, and refused when it is one of the custodians (that would undo the split).
 */
async function askRenewalRecipient(p: Prompter, custodians: string[]): Promise<string | undefined> {
  const taken = new Set(custodians.map(bareRecipient));
  const validate = (t: string): true | string => {
    if (t.trim() === '') return true;
    const syntax = check.namedRecipient(t.trim());
    if (syntax !== true) return syntax;
    return taken.has(bareRecipient(t)) ? 'that recipient is a custodian of the split: give the scheduler its own age identity (age-keygen)' : true;
  };
  const text = (await p.input({ id: 'renewalRecipient', message: 'Renewal recipient for unattended renewal: the scheduler\'s NAME=age1… (empty for none)', default: '', validate })).trim();
  return text === '' ? undefined : text;
}

/** Generate the material here (default) or import an existing file. */
export async function askMaterial(p: Prompter, ctx: WizardContext, keySpec: KeySpec): Promise<{ argv: string[]; text: string }> {
  const source = await p.select({
    id: 'material',
    message: 'Key material',
    choices: [
      { value: 'generate', name: 'generate it now on this machine (node:crypto)' },
      { value: 'file', name: `import existing material from a file (${keySpec === 'SYMMETRIC_DEFAULT' || keySpec.startsWith('HMAC') ? 'raw, hex or base64' : 'PKCS#8 PEM or DER'})` },
    ],
    default: 'generate',
  });
  if (source === 'generate') return { argv: [], text: 'generated on this machine' };
  const file = (await p.input({ id: 'materialFile', message: 'Material file', validate: ctx.files.readable })).trim();
  return { argv: ['--material-file', file], text: `read from ${file}` };
}

/** Asks the final question after the consequences paragraph; a "no" cancels with nothing created. */
export async function confirmConsequences(p: Prompter, paragraph: string, question: string): Promise<boolean> {
  p.say('');
  p.say(paragraph);
  p.say('');
  return p.confirm({ id: 'confirm', message: question, default: false, attest: true });
}

export interface OnboardPlan {
  /** The `kms-byok onboard` argv, `--yes` included: what the CLI runs. */
  argv: string[];
  target: TargetAnswer;
  /** Custodian names (or abbreviated recipients) and the custody mode, for the closing screen. */
  custodians: string[];
  mode: 'any' | 'threshold' | 'xor' | 'passphrase';
}

/** The whole onboard flow. Returns undefined when the operator declines at the confirmation. */
export async function onboardWizard(p: Prompter, ctx: WizardContext): Promise<OnboardPlan | undefined> {
  p.say('Onboard: create an EXTERNAL KMS key, seal its material in an escrow, import it, and prove it.');
  const target = await askTarget(p, ctx);
  const probe = await ctx.probe?.(target.argv);
  let key: KeyAnswer, expiry: ExpiryAnswer, material: { argv: string[]; text: string }, sealing: SealingAnswer, where: string | undefined;
  try {
    key = await askKey(p, probe);
    expiry = await askExpiry(p, ctx);
    material = await askMaterial(p, ctx, key.keySpec);
    sealing = await askSealing(p, ctx);
    where = await probe?.where();
  } finally {
    await probe?.close();
  }
  // The rehearsal's state file holds imported material in the clear: said here, consented to by the final "yes".
  const stateAt = target.argv.indexOf('--emulator-state');
  const plaintextState = stateAt >= 0 && material.argv.includes('--material-file');
  const paragraph = [
    'What happens next:',
    ...(plaintextState ? [`- The emulator state file ${target.argv[stateAt + 1]} will hold the material from your file IN THE CLEAR: use material that is not real.`] : []),
    `- A new KMS key (${key.keySpec}, ${key.keyUsage}, origin EXTERNAL)${key.alias ? ` with alias ${key.alias}` : ''} is created in ${target.label}${where ? `:\n  ${where}` : ''}.`,
    `- Its key material is ${material.text}, sealed in an escrow under ${sealing.escrowDir} BEFORE anything is imported,`,
    `  then wrapped with ${key.wrapping.algorithm} (${key.wrapping.wrappingKeySpec}) and imported.`,
    `- The material ${expiry.text}. After expiry the key is unusable until its material is re-imported from the escrow.`,
    `- The escrow can be opened by ${sealing.who}.`,
    '- If the escrow is lost, nobody can ever re-import this material (KMS never exports it): once it expires or',
    '  is deleted, everything encrypted or signed under this key is lost with it.',
  ].join('\n');
  if (!(await confirmConsequences(p, paragraph, 'Create the key and run the ceremony now?'))) return undefined;
  const consent = plaintextState ? ['--i-understand-plaintext-state'] : [];
  return { argv: ['--yes', ...target.argv, ...key.argv, ...expiry.argv, ...material.argv, ...consent, ...sealing.argv], target, custodians: sealing.custodians, mode: sealing.mode };
}
