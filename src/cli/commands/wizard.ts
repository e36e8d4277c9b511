/**
 * `kms-byok wizard` (and `kms-byok` with no arguments on a terminal): the interactive ceremonies.
 * The flows in `src/wizard/` only ask questions and return the argv of the equivalent command; this
 * edge runs that argv through the same command code the flags use, shows each step's progress, and
 * ends with what witnesses compare and the equivalent non-interactive command line.
 */
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { ExitCode, KmsByokError } from '../../core/errors.js';
import type { Prompter } from '../../wizard/prompter.js';
import type { EscrowCustody, HandoverSummary, OnboardPlan, TargetProbe, WizardContext } from '../../wizard/onboard.js';
import type { StepPlan } from '../../wizard/airgap.js';
import type { CommandPlan } from '../../wizard/lifecycle.js';
import { commandLine, fingerprintLines, readAloud } from '../../wizard/render.js';
import { parseBundle, type ImportBundleResult } from '../../airgap/ceremony.js';
import { bool, str, type Parsed } from '../args.js';
import { helpText, parseCommand } from '../command-spec.js';
import { WIZARD } from '../specs/wizard.js';
import type { Io } from '../io.js';
import type { EscrowReference } from '../documents.js';
import { pointsAtAws } from '../target.js';
import type { OnboardResult } from '../../ceremony/onboard.js';


/** The flags to use instead, for a wizard started where it cannot prompt. */
const NON_INTERACTIVE_HINT =
  'use the commands with flags instead: kms-byok onboard --yes --expires-in 365d --recipient age1… [--alias alias/NAME]; ' +
  'air-gapped: kms-byok onboard --yes --export-parameters params.json …, kms-byok wrap --parameters params.json --recipient age1… --out import.json, ' +
  'kms-byok import --bundle import.json (kms-byok COMMAND --help lists every flag)';

export async function wizard(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(argv, WIZARD, io.env);
  if (bool(p, 'help')) {
    io.stdout.write(helpText(WIZARD));
    return ExitCode.ok;
  }
  assertCanPrompt(io, bool(p, 'json'));
  const { createInquirerPrompter } = await import('../../wizard/prompter.js');
  // The terminal itself: inquirer needs real streams (raw mode, columns), which only the process has.
  return runWizard(p, io, createInquirerPrompter({ input: io.stdin as NodeJS.ReadStream, output: process.stderr }));
}

/** Exit 2 with the flags to use, when stdin/stderr is not a terminal, CI is set, or --json was asked. */
export function assertCanPrompt(io: Io, json: boolean): void {
  const why = !io.interactive ? 'stdin and stderr are not both terminals' : io.env.CI ? 'CI is set' : json ? '--json was given' : undefined;
  if (why) throw new KmsByokError('ERR_NOT_A_TERMINAL', `the wizard needs a terminal to ask questions (${why})`, { hint: NON_INTERACTIVE_HINT });
}

function describeConfiguredTarget(p: Parsed, io: Io): string {
  if (bool(p, 'emulator') || str(p, 'emulator-state')) return `the embedded KMS emulator (rehearsal${str(p, 'emulator-state') ? `, state in ${str(p, 'emulator-state')}` : ''})`;
  const endpoint = str(p, 'endpoint-url') ?? io.env.AWS_ENDPOINT_URL_KMS;
  const region = str(p, 'region') ?? io.env.AWS_REGION ?? io.env.AWS_DEFAULT_REGION;
  const profile = str(p, 'profile') ?? io.env.AWS_PROFILE;
  const parts = [region ? `Region ${region}` : 'the default Region', profile ? `profile ${profile}` : undefined].filter(Boolean).join(', ');
  return endpoint ? `the KMS at ${endpoint} (${parts})` : `AWS KMS (${parts}; the account of those credentials)`;
}

/** The target flags the wizard was given, to pass through to the command it runs. */
const targetArgvOf = (p: Parsed): string[] => targetArgv(p);
function targetArgv(p: Parsed): string[] {
  const out: string[] = [];
  for (const name of ['profile', 'region', 'endpoint-url', 'emulator-state'] as const) {
    const v = str(p, name);
    if (v !== undefined) out.push(`--${name}`, v);
  }
  if (bool(p, 'emulator')) out.push('--emulator');
  return out;
}

/**
 * The chosen target, opened while the questions are asked (quietly: the command opens it again and
 * says what it is): aliases are looked up with DescribeKey, the account with sts:GetCallerIdentity.
 */
async function openProbe(targetArgv: string[], io: Io): Promise<TargetProbe> {
  const { describeCaller, openTarget } = await import('../target.js');
  const quietIo: Io = { ...io, stderr: { write: () => {} } };
  const target = await openTarget(parseCommand(targetArgv, WIZARD, io.env), quietIo, { quiet: true });
  return {
    async aliasFree(alias) {
      try {
        const key = await target.kms.describeKey(alias);
        return `${alias} is already in use (key ${key.KeyId}): choose another alias`;
      } catch (e) {
        if (e instanceof KmsByokError && e.code === 'ERR_KMS_NOT_FOUND') return true;
        return `cannot check ${alias} in KMS (${e instanceof KmsByokError ? e.code : 'error'}): ${e instanceof Error ? e.message : String(e)}`;
      }
    },
    async where() {
      const c = await target.caller();
      const account = c.known ? `AWS account ${c.account}` : 'AWS account unknown';
      return `Region ${target.kms.region}, ${account}${c.known ? `, as ${c.arn}` : ` (${describeCaller(c)})`}`;
    },
    close: () => target.close(),
  };
}

/** The latest escrow's custody for a lifecycle flow (see WizardContext.custodyOf); an alias is resolved in the target. */
async function custodyOf(targetArgv: string[], io: Io, escrowDir: string, key: string): Promise<EscrowCustody | undefined> {
  let keyId: string | undefined = key.startsWith('arn:') ? key.split('/').pop() : key;
  if (key.startsWith('alias/')) {
    const { openTarget } = await import('../target.js');
    const target = await openTarget(parseCommand(targetArgv, WIZARD, io.env), { ...io, stderr: { write: () => {} } }, { quiet: true });
    try {
      keyId = (await target.kms.describeKey(key).catch(() => undefined))?.KeyId;
    } finally {
      await target.close();
    }
  }
  if (keyId === undefined) return undefined;
  const { latestEscrow } = await import('../context.js');
  const ref = await latestEscrow(resolve(io.cwd, escrowDir), keyId).catch(() => undefined);
  if (!ref) return undefined;
  const m = ref.sidecar.manifest;
  const c = m.custodians;
  const n = c.recipients.length;
  const custodians = c.recipients.map((r) => r.label ?? `${r.recipient.slice(0, 12)}…${r.recipient.slice(-6)}`);
  const escrow = { keyId: m.keyId, escrowVersion: m.escrowVersion, escrowFile: relative(io.cwd, ref.path) || ref.path };
  // What the hand-over files are compared with (docs/escrow-format.md, "Share check values").
  const recordedCheckValues: Record<number, string[]> = {};
  if (c.threshold !== undefined) {
    for (const f of ref.sidecar.files) if (f.role === 'share' && f.index !== undefined && f.checkValue !== undefined) recordedCheckValues[f.index] = [f.checkValue];
    return { needed: c.threshold, mode: `any ${c.threshold} of the ${n} are needed`, custodians, passphrase: c.passphrase, split: 'share', recordedCheckValues, ...escrow };
  }
  if (c.split) {
    for (let i = 1; i <= n; i++) {
      const values = ref.sidecar.materials.map((x) => x.components?.[i - 1]?.checkValue);
      if (values.length > 0 && values.every((v) => v !== undefined)) recordedCheckValues[i] = values as string[];
    }
    return { needed: n, mode: `all ${n} are needed (XOR components)`, custodians, passphrase: c.passphrase, split: 'component', recordedCheckValues, ...escrow };
  }
  return { needed: 1, mode: 'any one is enough', custodians, passphrase: c.passphrase, ...escrow };
}

/**
 * A hand-over file checked before the confirmation (see WizardContext.handover): its claim names this
 * key and escrow version and a part of the right kind, and it was sealed to a one-time recipient open
 * in `escrowDir`. The command checks everything again, and the share inside, when it opens them.
 */
async function handoverSummary(io: Io, path: string, escrowDir: string, custody: EscrowCustody): Promise<HandoverSummary | string> {
  if (path === '') return 'give the path of a hand-over file';
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(resolve(io.cwd, path));
  } catch (e) {
    return `cannot read ${path} (${(e as { code?: string }).code ?? 'error'})`;
  }
  const { abbreviateRecipient, readHandoverClaim } = await import('../../escrow/index.js');
  const { openHandoverRecipients } = await import('../../records/handover-identity.js');
  try {
    const c = readHandoverClaim(bytes, path);
    const who = c.holder.label ?? abbreviateRecipient(c.holder.recipient);
    if (c.keyId !== custody.keyId || c.escrowVersion !== custody.escrowVersion) {
      return `${path} hands over ${c.role} ${c.index} (${who}) of ${c.keyId} v${c.escrowVersion}, not of ${custody.keyId} v${custody.escrowVersion}: ask ${who} to hand over from ${custody.escrowFile}`;
    }
    if (c.role !== custody.split) return `${path} hands over a ${c.role}, but this escrow is split into ${custody.split ?? 'nothing'}s`;
    const open = await openHandoverRecipients(resolve(io.cwd, escrowDir)).catch(() => [] as string[]);
    if (!open.includes(c.to)) {
      return `${path} was handed over to ${abbreviateRecipient(c.to)}, which is not an open one-time recipient of ${escrowDir} (used, expired, or made elsewhere): run kms-byok escrow handover-recipient --escrow-dir ${escrowDir} and ask ${who} to hand over again`;
    }
    // The file's own values are unchecked until the command opens it: the sidecar's are what the custodian must read aloud.
    const recorded = custody.recordedCheckValues?.[c.index];
    if (recorded !== undefined && recorded.join(',') !== c.checkValues.join(',')) {
      return `${path}: ${c.role} ${c.index} (${who}) has check value ${c.checkValues.join(', ')}, but the escrow's sidecar recorded ${recorded.join(', ')} when it was sealed (ERR_CHECK_VALUE_MISMATCH): do not use it; ask ${who} to hand over again`;
    }
    return { role: c.role, index: c.index, custodian: who, checkValues: recorded ?? c.checkValues, recorded: recorded !== undefined };
  } catch (e) {
    return e instanceof KmsByokError ? e.message : `cannot read ${path}`;
  }
}

export function wizardContext(p: Parsed, io: Io): WizardContext {
  const at = (path: string) => resolve(io.cwd, path.trim());
  return {
    now: () => new Date(),
    probe: (targetArgv) => openProbe(targetArgv.length > 0 ? targetArgv : targetArgvOf(p), io),
    custodyOf: (targetArgv, escrowDir, key) => custodyOf(targetArgv.length > 0 ? targetArgv : targetArgvOf(p), io, escrowDir, key),
    handover: (path, escrowDir, custody) => handoverSummary(io, path, escrowDir, custody),
    target: { argv: targetArgv(p), configured: pointsAtAws(p, io.env), label: describeConfiguredTarget(p, io) },
    files: {
      readable(path) {
        if (path.trim() === '') return 'give a path';
        try {
          accessSync(at(path), constants.R_OK);
          return statSync(at(path)).isFile() ? true : `${path.trim()} is not a file`;
        } catch {
          return `cannot read ${path.trim()}`;
        }
      },
      creatable(path) {
        if (path.trim() === '') return 'give a path';
        if (existsSync(at(path))) return `${path.trim()} already exists (bundles are never overwritten)`;
        return existsSync(dirname(at(path))) ? true : `the directory of ${path.trim()} does not exist`;
      },
      bundle(path) {
        if (path.trim() === '') return 'give a path';
        try {
          const b = parseBundle(readFileSync(at(path)), path.trim());
          return {
            kind: b.format === 'kms-byok-parameters' ? 'parameters' : 'import',
            sha256: b.sha256,
            keyArn: b.key.keyArn,
            keySpec: b.key.keySpec,
            ...(b.key.alias ? { alias: b.key.alias } : {}),
            parametersValidTo: b.ParametersValidTo,
            ...(b.format === 'kms-byok-import' ? { checkValue: b.checkValue } : {}),
          };
        } catch (e) {
          if (e instanceof KmsByokError) return e.message;
          return `cannot read ${path.trim()} (${(e as { code?: string }).code ?? 'error'})`;
        }
      },
    },
  };
}

type Plans = { onboard: OnboardPlan; export: StepPlan; wrap: StepPlan; import: StepPlan; lifecycle: CommandPlan };
/** What the questions decided: which flow, and its plan (undefined: declined at the confirmation). */
type Chosen = { [F in keyof Plans]: { flow: F; plan: Plans[F] | undefined } }[keyof Plans];

/** Every question of the wizard, from the choice of flow to the confirmation; no effects (so it can be replayed). */
async function askPlan(prompter: Prompter, ctx: WizardContext): Promise<Chosen> {
  const flow = await prompter.select({
    id: 'flow',
    message: 'What do you want to do?',
    choices: [
      { value: 'onboard', name: 'onboard: create a key, import new material, escrow it (one machine)' },
      { value: 'export', name: 'air-gapped step 1 (online): create a key and export its import parameters' },
      { value: 'wrap', name: 'air-gapped step 2 (offline): generate, seal the escrow, wrap for import' },
      { value: 'import', name: 'air-gapped step 3 (online): import the wrapped material and verify' },
      { value: 'status', name: 'status: expiry, materials and escrow of keys (changes nothing)' },
      { value: 'reimport', name: 'reimport: renew the expiry of a key from its escrow' },
      { value: 'restore', name: 'restore: give a key in PendingImport its material back from the escrow' },
      { value: 'rotate', name: 'rotate: new key material (in place, or a new key behind the alias)' },
    ],
    default: 'onboard',
  });
  switch (flow) {
    case 'onboard':
      return { flow, plan: await (await import('../../wizard/onboard.js')).onboardWizard(prompter, ctx) };
    case 'export':
      return { flow, plan: await (await import('../../wizard/airgap.js')).exportParametersWizard(prompter, ctx) };
    case 'wrap':
      return { flow, plan: await (await import('../../wizard/airgap.js')).wrapWizard(prompter, ctx).catch(resumeHint('2', 'kms-byok wrap --parameters FILE …')) };
    case 'import':
      return { flow, plan: await (await import('../../wizard/airgap.js')).importWizard(prompter, ctx).catch(resumeHint('3', 'kms-byok import --bundle FILE')) };
    default: {
      const flows = await import('../../wizard/lifecycle.js');
      const ask = { status: flows.statusWizard, reimport: flows.reimportWizard, restore: flows.restoreWizard, rotate: flows.rotateWizard }[flow];
      return { flow: 'lifecycle', plan: await ask(prompter, ctx) };
    }
  }
}

/**
 * The wizard over any prompter (tests pass a scripted one). The questions run under
 * `withGoingBack` (`<` goes back one question, wizard/back.ts); the chosen plan then runs once.
 */
export async function runWizard(p: Parsed, io: Io, prompter: Prompter): Promise<number> {
  const ctx = wizardContext(p, io);
  const { BACK_HELP, withGoingBack } = await import('../../wizard/back.js');
  prompter.say(BACK_HELP);
  const chosen = await withGoingBack(prompter, (asking) => askPlan(asking, ctx));
  if (chosen.plan === undefined) throw declined();
  switch (chosen.flow) {
    case 'onboard':
      return runOnboardFlow(io, prompter, chosen.plan);
    case 'export':
      return runExportFlow(io, prompter, chosen.plan);
    case 'wrap':
      return runWrapFlow(io, prompter, chosen.plan);
    case 'import':
      return runImportFlow(io, prompter, chosen.plan);
    case 'lifecycle':
      return runLifecycleFlow(io, prompter, chosen.plan);
  }
}

/**
 * Cancelling step 2 or 3 creates nothing, but step 1's key exists (PendingImport, no material): the
 * hint says how to resume.
 */
function resumeHint(step: string, command: string): (e: unknown) => never {
  return (e) => {
    if (e instanceof KmsByokError && e.code === 'ERR_CANCELLED') {
      throw new KmsByokError(e.code, e.message, {
        hint: `nothing was created by step ${step}; the key of step 1 stays in PendingImport without material: resume with kms-byok wizard (step ${step}) or ${command} before the import token expires`,
      });
    }
    throw e;
  };
}

/** Declined at the confirmation: nothing was created. */
function declined(): KmsByokError {
  return new KmsByokError('ERR_CANCELLED', 'not confirmed', { hint: 'nothing was created' });
}

/** Runs `command(argv + --json)` with stdout captured, progress passed through on stderr. */
async function runCaptured<T>(command: (argv: string[], io: Io) => Promise<number>, argv: string[], io: Io): Promise<{ code: number; result?: T }> {
  let out = '';
  const code = await command([...argv, '--json'], { ...io, warnInsecureInputs: true, stdout: { write: (t) => void (out += t) } });
  return code === ExitCode.ok || code === ExitCode.attention ? { code, result: JSON.parse(out) as T } : { code };
}

async function runOnboardFlow(io: Io, prompter: Prompter, plan: Plans['onboard']): Promise<number> {
  const { onboard } = await import('./onboard.js');
  prompter.say('');
  const { code, result } = await runCaptured<OnboardResult & { target: string; transcript?: string }>(onboard, plan.argv, io);
  if (!result) return code;
  io.stdout.write(
    [
      '',
      'Onboard complete.',
      `  key ARN     ${result.keyArn}`,
      `  alias       ${result.alias ?? '(none)'}`,
      `  expiry      ${result.validTo ? `${result.validTo} (KEY_MATERIAL_EXPIRES)` : 'never (KEY_MATERIAL_DOES_NOT_EXPIRE)'}`,
      `  escrow      ${result.escrow.path}`,
      `  verified    ${result.verified.summary}`,
      ...(result.transcript ? [`  transcript  ${result.transcript}`] : []),
      '',
      '  Check value — read it aloud; every witness compares it with the escrow:',
      readAloud(result.checkValue),
      '',
      '  The same ceremony without the wizard (secrets are referenced by file, never typed):',
      indentedCommand(['onboard', ...plan.argv]),
      ...envNote(io, plan.target.argv),
      '',
      ...nextSteps(result, plan),
      '',
    ].join('\n'),
  );
  return code;
}

/** One line (no wrapping) of the command, quoted as the equivalent command line is. */
function oneLine(argv: string[]): string {
  return commandLine(argv).replace(/ \\\n\s*/g, ' ');
}

/**
 * The closing screen's next steps: what the custodians and the operator do after the ceremony.
 * A split escrow is opened by as many handed-over parts as it needs (M shares of an M-of-N
 * threshold, every XOR component); a scheduled reimport can open it only through a renewal seal
 * (docs/scheduling.md, "Split escrows"), so without one the renewal step says how to add it first.
 */
export function nextSteps(result: Pick<OnboardResult, 'escrow' | 'keyId' | 'alias' | 'validTo'>, plan: { custodians: string[]; mode: string; argv: string[] }): string[] {
  const escrow = result.escrow.path;
  const flag = (name: string) => plan.argv.filter((_, i) => plan.argv[i - 1] === name);
  const escrowDir = flag('--escrow-dir')[0] ?? 'escrow';
  const transcript = join(escrowDir, 'transcript.md');
  const split = plan.mode === 'threshold' || plan.mode === 'xor';
  // M-of-N: any M shares; XOR: every component.
  const parts = plan.mode === 'threshold' ? Number(flag('--threshold')[0] ?? 2) : Math.max(plan.custodians.length, 2);
  const shares = Array.from({ length: parts }, () => ['--share', 'FILE']).flat();
  // Split escrows are opened by handed-over shares, so no custodian brings their identity (docs/custody.md).
  const handover = `each custodian hands over their part to the recipient kms-byok escrow handover-recipient --escrow-dir ${escrowDir} prints (kms-byok escrow hand-over), then one --share FILE each`;
  const identities = plan.mode === 'threshold' ? ` (any ${parts} custodians: ${handover})` : plan.mode === 'xor' ? ` (all ${parts} custodians: ${handover})` : '';
  const lines = ['Next steps:'];
  let n = 1;
  if (plan.mode === 'passphrase') lines.push(`  ${n++}. Keep the passphrase file apart from the escrow; check it opens: ${oneLine(['escrow', 'verify', escrow, '--passphrase-file', 'FILE'])}`);
  else {
    lines.push(`  ${n++}. Each custodian acknowledges receipt, on their own machine, with their own identity:`);
    for (const name of plan.custodians.length > 0 ? plan.custodians : ['NAME']) {
      lines.push(`       ${oneLine(['escrow', 'acknowledge', escrow, '--identity', `${name.replace(/[^A-Za-z0-9._-]/g, '_')}.key`, '--name', name])}`);
    }
  }
  lines.push(`  ${n++}. Check the escrow opens and matches the key${identities}:`, `       ${oneLine(['escrow', 'verify', escrow, ...(split ? shares : ['--identity', 'FILE'])])}`);
  if (result.validTo) {
    const key = result.alias ?? result.keyId;
    const renewal = flag('--renewal-recipient')[0];
    if (split && renewal === undefined) {
      lines.push(
        `  ${n++}. Schedule the renewal before ${result.validTo}: a scheduled reimport cannot gather handed-over parts, so first give the`,
        '     scheduler an age identity of its own (age-keygen -o scheduler.txt) and add a renewal seal for it (the custodians hand over again):',
        `       ${oneLine(['escrow', 'reseal', escrow, ...shares])} --renewal-recipient scheduler=age1…   (age-keygen -y scheduler.txt prints it)`,
        '     then schedule with that identity:',
        `       ${oneLine(['schedule', '--print', 'systemd', '--key', key, '--identity', 'scheduler.txt', '--escrow-dir', escrowDir])}`,
      );
    } else {
      const name = renewal?.includes('=') ? renewal.slice(0, renewal.indexOf('=')) : 'scheduler';
      const identity = split ? `${name.replace(/[^A-Za-z0-9._-]/g, '_')}.txt` : 'FILE';
      const whose = split ? ` (with the identity of the renewal recipient ${name})` : '';
      lines.push(`  ${n++}. Schedule the renewal before ${result.validTo}${whose}:`, `       ${oneLine(['schedule', '--print', 'systemd', '--key', key, '--identity', identity, '--escrow-dir', escrowDir])}`);
    }
  }
  lines.push(
    `  ${n++}. Keep the transcript head (printed above) somewhere other than ${transcript}, and print the record to sign:`,
    `       ${oneLine(['transcript', 'render', transcript, '--html', '--escrow-dir', escrowDir, '--out', 'ceremony.html'])}`,
  );
  return lines;
}

/** When the target came from the environment, the command line needs the same environment. */
function envNote(io: Io, targetArgv: string[]): string[] {
  if (targetArgv.length > 0) return [];
  const set = ['AWS_ENDPOINT_URL_KMS', 'AWS_PROFILE', 'AWS_REGION', 'AWS_DEFAULT_REGION'].filter((n) => io.env[n]);
  return set.length > 0 ? [`    (with the same environment: ${set.join(', ')})`] : [];
}

function indentedCommand(argv: string[]): string {
  return commandLine(argv)
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

async function runExportFlow(io: Io, prompter: Prompter, plan: Plans['export']): Promise<number> {
  const { onboard } = await import('./onboard.js');
  prompter.say('');
  const { code, result } = await runCaptured<{ keyArn: string; alias?: string; parametersBundle: string; parametersValidTo: string; sha256: string }>(onboard, plan.argv, io);
  if (!result) return code;
  io.stdout.write(
    [
      '',
      'Step 1 complete: the key exists in PendingImport.',
      `  key ARN     ${result.keyArn}`,
      `  alias       ${result.alias ?? '(none)'}`,
      `  bundle      ${result.parametersBundle} (import token valid until ${result.parametersValidTo})`,
      '',
      '  Parameters bundle SHA-256 — the offline machine must show the same:',
      fingerprintLines(result.sha256),
      '',
      '  Next, on the offline machine: kms-byok wizard (step 2), or kms-byok wrap --parameters FILE …',
      '  The same step without the wizard:',
      indentedCommand(['onboard', ...plan.argv]),
      ...envNote(io, plan.target?.argv ?? []),
      '',
    ].join('\n'),
  );
  return code;
}

async function runWrapFlow(io: Io, prompter: Prompter, plan: Plans['wrap']): Promise<number> {
  const { wrap } = await import('./wrap.js');
  prompter.say('');
  const { code, result } = await runCaptured<{ keyArn: string; importBundle: string; checkValue: string; escrow: EscrowReference; parametersValidTo: string; sha256: string }>(wrap, plan.argv, io);
  if (!result) return code;
  io.stdout.write(
    [
      '',
      'Step 2 complete: the escrow is sealed and the import bundle written.',
      `  key ARN     ${result.keyArn}`,
      `  escrow      ${result.escrow.path}`,
      `  bundle      ${result.importBundle} (import before ${result.parametersValidTo})`,
      '',
      '  Check value — read it aloud; every witness compares it with the escrow:',
      readAloud(result.checkValue),
      '',
      '  Import bundle SHA-256 — the online machine must show the same:',
      fingerprintLines(result.sha256),
      '',
      '  The same step without the wizard (secrets are referenced by file, never typed):',
      indentedCommand(['wrap', ...plan.argv]),
      '',
    ].join('\n'),
  );
  return code;
}

async function runImportFlow(io: Io, prompter: Prompter, plan: Plans['import']): Promise<number> {
  const { importCommand } = await import('./import.js');
  prompter.say('');
  const { code, result } = await runCaptured<Omit<ImportBundleResult, 'sidecar'> & { escrow?: EscrowReference }>(importCommand, plan.argv, io);
  if (!result) return code;
  io.stdout.write(
    [
      '',
      'Step 3 complete: the key holds the material.',
      `  key ARN     ${result.keyArn}`,
      `  alias       ${result.alias ?? '(none)'}`,
      `  expiry      ${result.validTo ? `${result.validTo} (KEY_MATERIAL_EXPIRES)` : 'never (KEY_MATERIAL_DOES_NOT_EXPIRE)'}`,
      `  verified    ${result.verified.summary}`,
      `  sidecar     ${result.escrow?.sidecarPath ?? 'not reachable: run import --record-only later'}`,
      '',
      '  Check value — read it aloud; every witness compares it with the escrow:',
      readAloud(result.checkValue),
      '',
      '  The same step without the wizard:',
      indentedCommand(['import', ...plan.argv]),
      ...envNote(io, plan.target?.argv ?? []),
      '',
    ].join('\n'),
  );
  return code;
}

/** The lifecycle commands render their own results; the wizard adds the equivalent command line. */
async function runLifecycleFlow(io: Io, prompter: Prompter, plan: Plans['lifecycle']): Promise<number> {
  const { main } = await import('../main.js');
  prompter.say('');
  const code = await main([plan.command, ...plan.argv], { ...io, warnInsecureInputs: true });
  prompter.say(`\nThe same without the wizard:\n${indentedCommand([plan.command, ...plan.argv])}`);
  return code;
}
