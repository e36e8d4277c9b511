/**
 * `kms-byok schedule --print systemd|cron|kubernetes`: prints a ready schedule for the unattended
 * `kms-byok reimport --before 30d …` (or `status`) run. Refuses (exit 2) a schedule that would prompt.
 * Generating reads nothing but a --plan file and contacts nothing.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { ExitCode, KmsByokError } from '../../core/errors.js';
import { isRegion } from '../../core/aws-ids.js';
import { parseDuration } from '../../core/time.js';
import { MAX_VALID_TO_DAYS } from '../../core/aws-names.js';
import {
  SCHEDULE_FORMATS,
  kubernetesCronJob,
  renderCron,
  renderSystemd,
  toYaml,
  type ScheduleFormat,
  type ScheduleOptions,
  type ScheduledCommand,
  type SchedulePlan,
} from '../../policy/schedule.js';
import { bool, str, strs, type Parsed } from '../args.js';
import { helpText, parseCommand } from '../command-spec.js';
import { SCHEDULE } from '../specs/schedule.js';
import { say, type Io } from '../io.js';
import { printJson } from '../render.js';
import { printDocument } from '../documents.js';
import { readOpener } from '../escrow-inputs.js';
import { keyIdOf, latestEscrow } from '../context.js';
import { recipientOfIdentity, unattendedOpening } from '../../escrow/index.js';


/** Keys listed in a keys file: one key id, ARN or alias per line; blank lines and # comments ignored. */
async function listedKeys(io: Io, file: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(resolve(io.cwd, file), 'utf8');
  } catch (e) {
    throw new KmsByokError('ERR_FILE_READ', `cannot read --keys-file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { hint: 'give a file listing one key per line' });
  }
  return text
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter((l) => l.length > 0);
}

/** Flags a fleet plan replaces in a schedule, by the plan field to set instead (docs/scheduling.md). */
const PLAN_SETS: Readonly<Record<string, string>> = {
  key: '"keys"',
  'keys-file': '"keys"',
  region: '"region"',
  'expires-in': '"expiresIn" (or "validTo", "noExpiry")',
  identity: '"identity"',
  'passphrase-file': '"passphraseFile"',
  'escrow-dir': '"escrowDir"',
  'warn-days': '"warnDays"',
};

/**
 * `--plan FILE`: a fleet plan, read and validated now as `reimport --plan` (or `status --plan`) will
 * read it on every run. A one-key-per-line list given to --plan is refused with a pointer to --keys-file.
 */
async function readPlanText(io: Io, file: string, p: Parsed): Promise<string> {
  let text: string;
  try {
    text = await readFile(resolve(io.cwd, file), 'utf8');
  } catch (e) {
    throw new KmsByokError('ERR_FILE_READ', `cannot read --plan ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { hint: 'give a fleet plan file (docs/fleet.md)' });
  }
  if (!text.trimStart().startsWith('{')) {
    throw new KmsByokError('ERR_USAGE', `--plan ${file} is not a fleet plan (a JSON object): --plan schedules reimport --plan FILE`, {
      hint: `for a list of keys, one per line, use --keys-file ${file}`,
    });
  }
  for (const [flag, field] of Object.entries(PLAN_SETS)) {
    if (p.values[flag] !== undefined) {
      throw new KmsByokError('ERR_USAGE', `--${flag} cannot be combined with --plan: the plan sets it per key`, {
        hint: `drop --${flag} and set ${field} in the plan (docs/fleet.md); for a list of keys, use --keys-file instead of --plan`,
      });
    }
  }
  return text;
}

/**
 * `--plan FILE`: a fleet plan, validated now as `reimport --plan` (or `status --plan`) will read it
 * on every run (after {@link readPlanText} checked it is one and that no flag it replaces was given).
 */
async function schedulePlan(io: Io, file: string, command: ScheduledCommand, beforeMs: number | undefined, before: string, identityGiven: boolean): Promise<SchedulePlan> {
  const path = resolve(io.cwd, file);
  const { loadPlan } = await import('../../fleet/run.js');
  // On AWS the identity is the template's ciphertext: the plan's entries need none of their own.
  const { plan } = loadPlan(io, path, command, identityGiven);
  if (beforeMs !== undefined) {
    const short = plan.entries.find((e) => e.expiry !== undefined && 'expiresInMs' in e.expiry && e.expiry.expiresInMs <= beforeMs);
    if (short) {
      throw new KmsByokError('ERR_INVALID_COMBINATION', `--before ${before} is not shorter than the plan's "expiresIn" of keys[${short.index}]: every run would re-import it`, {
        hint: 'e.g. --before 30d with "expiresIn": "90d" in the plan',
      });
    }
  }
  return {
    file: path,
    keys: plan.entries.map((e) => ({ key: e.key, region: e.region })),
    escrowDirs: [...new Set(plan.entries.map((e) => e.escrowDir))],
    secrets: [...new Set(plan.entries.flatMap((e) => [...e.identities, ...(e.passphraseFile ? [e.passphraseFile] : [])]))],
  };
}

/**
 * Refuses (ERR_SCHEDULE_NOT_UNATTENDED, exit 2, before anything is printed) a schedule whose secret
 * can never open a listed key's latest escrow in the escrow directory — typically an m-of-n or XOR
 * escrow with one identity and no renewal seal (docs/scheduling.md, "Split escrows"). Keys given by
 * alias, and escrows not in this directory (a schedule made for another machine), are not checked.
 */
async function assertEscrowsOpenUnattended(io: Io, options: ScheduleOptions): Promise<void> {
  let recipients: Set<string> | undefined;
  if (options.identity !== undefined) {
    try {
      const opener = await readOpener({ ...io, warnInsecureInputs: true, stderr: nullStream() } as Io, { identities: [options.identity], passphraseFile: undefined });
      if ('identities' in opener) recipients = new Set(await Promise.all(opener.identities.map((i) => recipientOfIdentity(i))));
    } catch {
      recipients = undefined; // the identity may live only on the scheduled machine
    }
  }
  for (const key of options.keys) {
    const keyId = keyIdOf(key);
    if (keyId === undefined) continue;
    const ref = await latestEscrow(options.escrowDir, keyId).catch(() => undefined);
    if (ref === undefined) continue;
    const verdict = unattendedOpening(ref.sidecar, options.identity !== undefined ? (recipients ? { recipients } : {}) : { passphrase: true });
    if (verdict.opens !== false) continue;
    const file = ref.path;
    throw new KmsByokError('ERR_SCHEDULE_NOT_UNATTENDED', `the scheduled reimport could never open the escrow of ${key}: ${verdict.why}`, {
      hint:
        `give the scheduler an age identity of its own (age-keygen -o scheduler.txt) and add a renewal recipient for it: ` +
        `kms-byok escrow reseal ${file} --share FILE... --renewal-recipient scheduler=$(age-keygen -y scheduler.txt) ` +
        `(the custodians hand over their shares: docs/custody.md); then schedule again with --identity scheduler.txt`,
    });
  }
}

function nullStream(): NodeJS.WritableStream {
  return { write: () => true } as unknown as NodeJS.WritableStream;
}

function abs(io: Io, path: string | undefined): string | undefined {
  if (path === undefined || path === '-') return path;
  return isAbsolute(path) ? path : resolve(io.cwd, path);
}

export async function schedule(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(argv, SCHEDULE, io.env);
  if (bool(p, 'help')) {
    io.stdout.write(helpText(SCHEDULE));
    return ExitCode.ok;
  }
  if (p.positionals.length > 0) throw new KmsByokError('ERR_USAGE', `unexpected argument "${p.positionals[0]}"`, { hint: 'keys are given with --key (repeatable), --keys-file FILE or --plan FILE' });
  const format = str(p, 'print');
  if (format === undefined) throw new KmsByokError('ERR_MISSING_INPUT', 'missing --print: which scheduler to print for', { hint: `pass --print ${SCHEDULE_FORMATS.join('|')}` });
  if (!SCHEDULE_FORMATS.includes(format as ScheduleFormat)) throw new KmsByokError('ERR_INVALID_ARGUMENT', `unknown --print "${format}"`, { hint: `use ${SCHEDULE_FORMATS.join(', ')}` });
  const command = (str(p, 'command') ?? 'reimport') as ScheduledCommand;
  const before = str(p, 'before') ?? '30d';
  const expiresIn = str(p, 'expires-in') ?? '90d';
  const planFile = str(p, 'plan');
  // Read first: a list given to --plan (its meaning before fleet plans) is told to use --keys-file.
  const planText = planFile === undefined ? undefined : await readPlanText(io, planFile, p);
  if (command === 'reimport' && planFile === undefined) {
    const beforeMs = parseDuration(before, '--before');
    const expiresMs = parseDuration(expiresIn, '--expires-in');
    if (beforeMs >= expiresMs) {
      throw new KmsByokError('ERR_INVALID_COMBINATION', `--before ${before} is not shorter than --expires-in ${expiresIn}: every run would re-import`, {
        hint: 'e.g. --before 30d --expires-in 90d: a daily run re-imports once every 60 days, with 30 days to notice failures',
      });
    }
    // Every scheduled run would refuse it (exit 2), as reimport does: refuse the schedule instead.
    if (expiresMs > MAX_VALID_TO_DAYS * 86_400_000) {
      throw new KmsByokError('ERR_INVALID_VALID_TO', `--expires-in ${expiresIn} is more than ${MAX_VALID_TO_DAYS} days`, { hint: `AWS accepts a ValidTo at most ${MAX_VALID_TO_DAYS} days after the import; use --expires-in ${MAX_VALID_TO_DAYS}d or less` });
    }
  }
  // Values the scheduled command would refuse on every run (exit 2), checked as it checks them.
  const warnDays = str(p, 'warn-days');
  if (warnDays !== undefined && !/^\d{1,4}$/.test(warnDays)) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `invalid --warn-days "${warnDays}": expected a whole number of days`, { hint: 'e.g. --warn-days 30' });
  }
  const region = str(p, 'region');
  if (region !== undefined && !isRegion(region)) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `invalid --region "${region}"`, { hint: 'give an AWS Region name such as us-east-1 or eu-west-3' });
  }
  // Kubernetes object names (DNS subdomains): kubectl would refuse the manifest.
  for (const flag of ['service-account', 'secret', 'escrow-claim']) {
    const name = str(p, flag);
    if (name !== undefined && (name.length > 253 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(name))) {
      throw new KmsByokError('ERR_INVALID_ARGUMENT', `--${flag} "${name}" is not a valid Kubernetes name`, { hint: 'lower-case letters, digits, - and ., starting and ending with a letter or digit' });
    }
  }
  const shardsText = str(p, 'shards');
  if (shardsText !== undefined && (!/^\d{1,4}$/.test(shardsText) || Number(shardsText) < 1 || Number(shardsText) > 1000)) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `invalid --shards "${shardsText}": expected a whole number from 1 to 1000`, { hint: 'e.g. --shards 4: four workers, each with its own quota domains' });
  }
  if (shardsText !== undefined && format !== 'kubernetes' && format !== 'eventbridge') {
    throw new KmsByokError('ERR_USAGE', `--shards does not apply to --print ${format}`, { hint: 'shards run as an Indexed Job (--print kubernetes) or one schedule each (--print eventbridge); on one host, run reimport --plan --shard K/N yourself' });
  }
  if ((shardsText !== undefined || format === 'eventbridge') && planFile === undefined) {
    throw new KmsByokError('ERR_MISSING_INPUT', `missing --plan: ${format === 'eventbridge' ? '--print eventbridge' : '--shards'} schedules a fleet plan`, { hint: 'pass --plan FLEET.json (docs/fleet.md)' });
  }
  const plan = planFile === undefined || planText === undefined ? undefined : await schedulePlan(io, planFile, command, command === 'reimport' ? parseDuration(before, '--before') : undefined, before, format === 'eventbridge');
  const keys = [...strs(p, 'key'), ...(str(p, 'keys-file') !== undefined ? await listedKeys(io, str(p, 'keys-file')!) : [])];
  const k8s = format === 'kubernetes';
  const options: ScheduleOptions = {
    command,
    bin: str(p, 'bin') ?? (k8s ? 'kms-byok' : '/usr/local/bin/kms-byok'),
    keys,
    before,
    expiresIn,
    ...(str(p, 'warn-days') !== undefined ? { warnDays: str(p, 'warn-days')! } : {}),
    ...(str(p, 'identity') !== undefined ? { identity: abs(io, str(p, 'identity'))! } : {}),
    ...(str(p, 'passphrase-file') !== undefined ? { passphraseFile: abs(io, str(p, 'passphrase-file'))! } : {}),
    escrowDir: abs(io, str(p, 'escrow-dir') ?? (k8s ? '/var/lib/kms-byok/escrow' : 'escrow'))!,
    ...(str(p, 'region') !== undefined ? { region: str(p, 'region')! } : {}),
    ...(str(p, 'profile') !== undefined ? { profile: str(p, 'profile')! } : {}),
    onCalendar: str(p, 'on-calendar') ?? '*-*-* 03:17:00',
    cron: str(p, 'cron') ?? '17 3 * * *',
    ...(str(p, 'image') !== undefined ? { image: str(p, 'image')! } : {}),
    name: str(p, 'name') ?? `kms-byok-${command}`,
    ...(str(p, 'user') !== undefined ? { user: str(p, 'user')! } : {}),
    ...(str(p, 'log') !== undefined ? { log: abs(io, str(p, 'log'))! } : {}),
    ...(str(p, 'service-account') !== undefined ? { serviceAccount: str(p, 'service-account')! } : {}),
    ...(str(p, 'secret') !== undefined ? { secret: str(p, 'secret')! } : {}),
    ...(str(p, 'escrow-claim') !== undefined ? { escrowClaim: str(p, 'escrow-claim')! } : {}),
    ...(plan !== undefined ? { plan } : {}),
    ...(shardsText !== undefined ? { shards: Number(shardsText) } : {}),
  };
  // Every run of a schedule whose identity can never open a key's escrow would fail: refuse it now.
  if (plan === undefined && command === 'reimport') await assertEscrowsOpenUnattended(io, options);
  // A scheduled run has no terminal: with no target it exits 2 (ERR_NO_TARGET) rather than rehearse.
  if (plan === undefined && options.region === undefined && options.profile === undefined) {
    say(io, 'note', 'the scheduled run gets no --region or --profile: it needs AWS_REGION or AWS_PROFILE in its environment, or every run exits 2 (ERR_NO_TARGET)');
  }
  if (format === 'systemd') {
    const units = renderSystemd(options);
    if (bool(p, 'json')) printDocument(io, { format: 'systemd', ...units });
    else io.stdout.write(`# ${units.serviceName}\n${units.service}\n# ${units.timerName}\n${units.timer}`);
    say(io, 'hint', `save them as /etc/systemd/system/${units.serviceName} and ${units.timerName}, then: systemctl daemon-reload && systemctl enable --now ${units.timerName}`);
  } else if (format === 'cron') {
    const line = renderCron(options);
    if (bool(p, 'json')) printDocument(io, { format: 'cron', crontab: line });
    else io.stdout.write(line);
    say(io, 'hint', 'add it with crontab -e as the user that may read the identity and write the escrow directory');
  } else if (format === 'eventbridge') {
    const { eventBridgeTemplate } = await import('../../policy/cloudformation.js');
    const template = eventBridgeTemplate({ command, name: options.name, cron: options.cron, before, shards: options.shards ?? 1, plan: plan! });
    // A CloudFormation template (JSON) for aws cloudformation deploy: no schemaVersion (docs/json.md, "Foreign documents").
    printJson(io, template);
    say(io, 'hint', `deploy it: aws cloudformation deploy --template-file ${options.name}.json --stack-name ${options.name} --capabilities CAPABILITY_IAM --parameter-overrides CodeS3Bucket=… CodeS3Key=… EscrowFileSystemId=fs-… SubnetIds=… SecurityGroupIds=…${command === 'reimport' ? ' IdentityKeyArn=… IdentityCiphertext=…' : ''} (docs/fleet.md, "On AWS")`);
  } else {
    const manifest = kubernetesCronJob(options);
    // The Kubernetes manifest itself, for kubectl apply: no schemaVersion (docs/json.md, "Foreign documents").
    if (bool(p, 'json')) printJson(io, manifest);
    else io.stdout.write(`---\n${toYaml(manifest)}`);
    const secretKey = options.identity !== undefined ? 'identity' : 'passphrase';
    const secretFile = options.identity ?? options.passphraseFile;
    if (plan !== undefined && plan.secrets.length > 0) {
      const items = [...new Set(plan.secrets)].map((f, i) => `--from-file=secret-${i}=${f}`).join(' ');
      say(io, 'hint', `create the Secret first: kubectl create secret generic ${options.secret ?? `${options.name}-secrets`} ${items}`);
    } else if (secretFile !== undefined) {
      say(io, 'hint', `create the Secret first: kubectl create secret generic ${options.secret ?? `${options.name}-${secretKey}`} --from-file=${secretKey}=${secretFile}`);
    }
  }
  return ExitCode.ok;
}
