/**
 * Schedules for the unattended `kms-byok reimport` (or `status`) run: a systemd service + timer pair,
 * a crontab line, or a Kubernetes CronJob. Pure: a function of the options, every value checked
 * against a conservative character set so nothing needs shell, systemd or cron quoting.
 */
import { KmsByokError } from '../core/errors.js';

export type ScheduledCommand = 'reimport' | 'status';
export type ScheduleFormat = 'systemd' | 'cron' | 'kubernetes' | 'eventbridge';
export const SCHEDULE_FORMATS: readonly ScheduleFormat[] = ['systemd', 'cron', 'kubernetes', 'eventbridge'];

/** Commands that never prompt when given their inputs: the only ones that may be scheduled. */
export const UNATTENDED_COMMANDS: readonly ScheduledCommand[] = ['reimport', 'status'];

export interface ScheduleOptions {
  command: ScheduledCommand;
  /** The kms-byok executable (absolute for systemd and cron; a name on the image's PATH for k8s). */
  bin: string;
  keys: readonly string[];
  /** reimport: re-import only keys whose earliest ValidTo is within this (e.g. 30d). */
  before: string;
  /** reimport: the new expiry from the run (e.g. 90d). */
  expiresIn: string;
  /** status: days of warning (exit 3 when a key is within them). */
  warnDays?: string;
  /** Absolute path of the age identity file on the host (systemd/cron); mounted read-only. */
  identity?: string;
  /** Absolute path of a passphrase file on the host, instead of an identity. */
  passphraseFile?: string;
  /** Absolute escrow directory (writable: the sidecar, journal and transcript are updated). */
  escrowDir: string;
  region?: string;
  profile?: string;
  /** systemd OnCalendar= expression. */
  onCalendar: string;
  /** 5-field cron expression (cron and Kubernetes). */
  cron: string;
  /** Container image for Kubernetes. */
  image?: string;
  /** Base name of the units / CronJob. */
  name: string;
  /** systemd User= (default kms-byok). */
  user?: string;
  /** cron: where stdout and stderr of each run are appended. */
  log?: string;
  /** Kubernetes: the ServiceAccount (IRSA / Pod Identity gives it the re-import role). */
  serviceAccount?: string;
  /** Kubernetes: the Secret holding the identity (key `identity`) or passphrase (key `passphrase`). */
  secret?: string;
  /** Kubernetes: the PersistentVolumeClaim holding the escrow directory. */
  escrowClaim?: string;
  /**
   * A fleet plan (docs/fleet.md) instead of keys: the run is `reimport --plan FILE` (or `status
   * --plan FILE`), and keys, Regions, escrow directories, expiry and identities come from the plan.
   */
  plan?: SchedulePlan;
  /**
   * Kubernetes and EventBridge with a plan: run it as N shards by quota domain (docs/fleet.md,
   * "Shards"), each its own Job index or schedule.
   */
  shards?: number;
}

/** What a schedule needs to know of a fleet plan: where it is and the paths it names (all absolute). */
export interface SchedulePlan {
  /** The plan file. Its directory holds the run state (`.<plan>.<command>.run.jsonl`): writable. */
  file: string;
  /** Every entry's escrow directory (writable: sidecars, journals, the transcript). */
  escrowDirs: readonly string[];
  /** Every identity and passphrase file the plan names (read-only secrets). */
  secrets: readonly string[];
  /** The plan's keys (as the plan names them) and Regions: the resources a role may act on. */
  keys?: readonly { key: string; region: string }[];
}

function dirOf(path: string): string {
  return path.slice(0, path.lastIndexOf('/')) || '/';
}

function inside(dir: string, path: string): boolean {
  return path === dir || path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
}

const SAFE = /^[A-Za-z0-9_@+=:,./-]+$/;
const CALENDAR = /^[A-Za-z0-9*:,./~ -]+$/;

function unsafe(flag: string, value: string, allowed: string): KmsByokError {
  return new KmsByokError('ERR_INVALID_ARGUMENT', `${flag} "${value}" has characters a schedule cannot carry unquoted`, { hint: `use only ${allowed}` });
}

function safe(flag: string, value: string): string {
  if (!SAFE.test(value)) throw unsafe(flag, value, 'letters, digits and _ @ + = : , . / -');
  return value;
}

function absolute(flag: string, value: string): string {
  safe(flag, value);
  if (!value.startsWith('/')) throw new KmsByokError('ERR_INVALID_ARGUMENT', `${flag} "${value}" is not an absolute path`, { hint: 'a scheduled run has its own working directory: give absolute paths' });
  return value;
}

/** A strict 5-field cron expression: minute hour day-of-month month day-of-week, numbers, `*`, ranges, lists, steps. */
export function checkCron(expr: string): string {
  const fields = expr.trim().split(/\s+/);
  const ranges: [number, number][] = [
    [0, 59],
    [0, 23],
    [1, 31],
    [1, 12],
    [0, 7],
  ];
  const bad = () => new KmsByokError('ERR_INVALID_ARGUMENT', `--cron "${expr}" is not a 5-field cron expression`, { hint: 'e.g. --cron "17 3 * * *" (03:17 every day)' });
  if (fields.length !== 5) throw bad();
  fields.forEach((f, i) => {
    const [lo, hi] = ranges[i]!;
    for (const part of f.split(',')) {
      const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
      if (!m) throw bad();
      if (m[2] !== undefined && (Number(m[2]) < lo || Number(m[2]) > hi)) throw bad();
      if (m[3] !== undefined && (Number(m[3]) < lo || Number(m[3]) > hi || Number(m[3]) < Number(m[2]))) throw bad();
      if (m[4] !== undefined && Number(m[4]) === 0) throw bad();
    }
  });
  return fields.join(' ');
}

function checkOptions(o: ScheduleOptions): void {
  if (!UNATTENDED_COMMANDS.includes(o.command)) {
    throw new KmsByokError('ERR_SCHEDULE_NOT_UNATTENDED', `refusing to schedule "kms-byok ${String(o.command)}": it is not an unattended command`, {
      hint: `only ${UNATTENDED_COMMANDS.join(' and ')} run without a person: ceremonies that create, rotate or destroy keys need custodians present`,
    });
  }
  if (o.plan !== undefined) {
    absolute('--plan', o.plan.file);
    for (const d of o.plan.escrowDirs) absolute('the plan\'s "escrowDir"', d);
    for (const f of o.plan.secrets) absolute('the plan\'s "identity" or "passphraseFile"', f);
  } else if (o.command === 'reimport' && o.identity === undefined && o.passphraseFile === undefined) {
    throw new KmsByokError('ERR_SCHEDULE_NOT_UNATTENDED', 'refusing a schedule that would prompt: reimport needs --identity FILE or --passphrase-file FILE to open the escrow', {
      hint: 'pass --identity /etc/kms-byok/custodian.txt (an age identity file the scheduled job may read)',
    });
  }
  if (o.identity !== undefined && o.passphraseFile !== undefined) {
    throw new KmsByokError('ERR_INVALID_COMBINATION', '--identity and --passphrase-file both given', { hint: 'a schedule opens the escrow one way: give one of them' });
  }
  if (o.passphraseFile === '-') {
    throw new KmsByokError('ERR_SCHEDULE_NOT_UNATTENDED', 'refusing --passphrase-file - in a schedule: a scheduled run has no stdin to read it from', { hint: 'give the path of a passphrase file' });
  }
  if (o.identity !== undefined) absolute('--identity', o.identity);
  if (o.passphraseFile !== undefined) absolute('--passphrase-file', o.passphraseFile);
  if (o.plan === undefined) absolute('--escrow-dir', o.escrowDir);
  if (o.keys.length === 0 && o.command === 'reimport' && o.plan === undefined) {
    throw new KmsByokError('ERR_MISSING_INPUT', 'missing --key: which keys the schedule re-imports', { hint: 'pass --key alias/payments (repeatable) or --plan FILE' });
  }
  for (const k of o.keys) safe('--key', k);
  safe('--before', o.before);
  safe('--expires-in', o.expiresIn);
  if (o.warnDays !== undefined) safe('--warn-days', o.warnDays);
  if (o.region !== undefined) safe('--region', o.region);
  if (o.profile !== undefined) safe('--profile', o.profile);
  if (!CALENDAR.test(o.onCalendar)) throw unsafe('--on-calendar', o.onCalendar, 'a systemd calendar expression such as "*-*-* 03:17:00"');
  checkCron(o.cron);
  if (!/^[a-z0-9]([a-z0-9-]{0,50}[a-z0-9])?$/.test(o.name)) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `--name "${o.name}" is not a valid unit/CronJob name`, { hint: 'lower-case letters, digits and -, e.g. kms-byok-reimport' });
  }
  if (o.user !== undefined) safe('--user', o.user);
  if (o.log !== undefined) absolute('--log', o.log);
}

/** The kms-byok arguments the scheduled run executes, given where the secret file is seen from inside. */
export function scheduledArgs(o: ScheduleOptions, paths: { identity?: string; passphraseFile?: string; escrowDir: string }): string[] {
  if (o.plan !== undefined) {
    // Everything per key is in the plan; the command line only says when a key is due.
    const args = [o.command, '--plan', o.plan.file];
    // The Job's index is the shard (0-based, as --shard counts); Kubernetes expands $(VAR) in args.
    if (o.shards !== undefined) args.push('--shard', `$(JOB_COMPLETION_INDEX)/${o.shards}`);
    if (o.command === 'reimport') args.push('--before', o.before);
    if (o.profile !== undefined) args.push('--profile', o.profile);
    return args;
  }
  const args: string[] = [o.command, ...o.keys];
  if (o.command === 'reimport') args.push('--before', o.before, '--expires-in', o.expiresIn);
  else if (o.warnDays !== undefined) args.push('--warn-days', o.warnDays);
  if (paths.identity !== undefined) args.push('--identity', paths.identity);
  if (paths.passphraseFile !== undefined) args.push('--passphrase-file', paths.passphraseFile);
  args.push('--escrow-dir', paths.escrowDir);
  if (o.region !== undefined) args.push('--region', o.region);
  if (o.profile !== undefined) args.push('--profile', o.profile);
  return args;
}

const EXIT_NOTE = (cmd: ScheduledCommand) =>
  cmd === 'reimport'
    ? 'exit 0 re-imported or not due, 1 failed (the next run retries), 2 configuration error (fix the schedule), 130/143 interrupted (the next run finishes it)'
    : 'exit 0 all well, 3 a key needs attention, 1 failed, 2 configuration error';

export interface SystemdUnits {
  serviceName: string;
  timerName: string;
  service: string;
  timer: string;
}

/**
 * A oneshot service and its timer. The identity (or passphrase) reaches the service through systemd
 * credentials (`LoadCredential=`): a read-only copy only the service sees, at `%d/<name>`.
 */
export function renderSystemd(o: ScheduleOptions): SystemdUnits {
  checkOptions(o);
  absolute('--bin', o.bin);
  // With a plan, the plan names the identity files: the service reads them itself (as User=).
  const credential = o.plan !== undefined ? undefined : o.identity !== undefined ? { name: 'identity', host: o.identity } : o.passphraseFile !== undefined ? { name: 'passphrase', host: o.passphraseFile } : undefined;
  const writable = o.plan !== undefined ? writableDirs(o.plan) : [o.escrowDir];
  const args = scheduledArgs(o, {
    ...(credential?.name === 'identity' ? { identity: '%d/identity' } : {}),
    ...(credential?.name === 'passphrase' ? { passphraseFile: '%d/passphrase' } : {}),
    escrowDir: o.escrowDir,
  });
  const serviceName = `${o.name}.service`;
  const timerName = `${o.name}.timer`;
  const service = [
    '[Unit]',
    `Description=kms-byok ${o.command} (scheduled, unattended)`,
    'Documentation=man:systemd.timer(5)',
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=oneshot',
    `# ${EXIT_NOTE(o.command)}; a non-zero exit marks the unit failed (OnFailure=, monitoring)`,
    `ExecStart=${[o.bin, ...args].join(' ')}`,
    ...(credential ? [`LoadCredential=${credential.name}:${credential.host}`] : []),
    `User=${o.user ?? 'kms-byok'}`,
    'Environment=CI=true',
    'ProtectSystem=strict',
    'ProtectHome=read-only',
    `ReadWritePaths=${writable.join(' ')}`,
    'PrivateTmp=yes',
    'NoNewPrivileges=yes',
    '# the process holds key material: no core dumps',
    'LimitCORE=0',
    'TimeoutStartSec=30min',
    '',
  ].join('\n');
  const timer = [
    '[Unit]',
    `Description=Run ${serviceName} on schedule`,
    '',
    '[Timer]',
    `OnCalendar=${o.onCalendar}`,
    'RandomizedDelaySec=15min',
    'Persistent=true',
    `Unit=${serviceName}`,
    '',
    '[Install]',
    'WantedBy=timers.target',
    '',
  ].join('\n');
  return { serviceName, timerName, service, timer };
}

/** The directories a plan run writes: the plan's (run state) and every escrow directory outside it. */
function writableDirs(plan: SchedulePlan): string[] {
  const planDir = dirOf(plan.file);
  return [planDir, ...[...new Set(plan.escrowDirs)].filter((d) => !inside(planDir, d)).sort()];
}

/** One crontab line (user crontab: 5 fields, then the command). Output is appended to the log; cron mails only the failure line. */
export function renderCron(o: ScheduleOptions): string {
  checkOptions(o);
  absolute('--bin', o.bin);
  const log = o.log ?? '/var/log/kms-byok/reimport.log';
  const args = scheduledArgs(o, {
    ...(o.identity !== undefined ? { identity: o.identity } : {}),
    ...(o.passphraseFile !== undefined ? { passphraseFile: o.passphraseFile } : {}),
    escrowDir: o.escrowDir,
  });
  return [
    `# kms-byok ${o.command}: ${EXIT_NOTE(o.command)}`,
    `${checkCron(o.cron)} ulimit -c 0; CI=true ${[o.bin, ...args].join(' ')} >>${log} 2>&1 || echo "kms-byok ${o.command} failed with exit $?: see ${log}"`,
    '',
  ].join('\n');
}

const IDENTITY_MOUNT = '/etc/kms-byok/secret';

/**
 * Kubernetes has no pod or container setting for RLIMIT_CORE: core dumps follow the node's
 * core_pattern and limits. kms-byok excludes its memory from dumps itself (coredump_filter = 0).
 */
export const KUBERNETES_CORE_DUMP_NOTE =
  'Kubernetes has no securityContext setting for core dumps: they follow the node (core_pattern, RLIMIT_CORE). kms-byok sets /proc/self/coredump_filter to 0 at start, so a dump of it holds none of its memory; disable core dumps on nodes that run ceremonies.';

/**
 * A batch/v1 CronJob. Exit 2 (configuration error) fails the Job at once through a podFailurePolicy;
 * other failures are retried (backoffLimit) and the next schedule runs anyway.
 */
export function kubernetesCronJob(o: ScheduleOptions): Record<string, unknown> {
  checkOptions(o);
  if (o.image === undefined) throw new KmsByokError('ERR_MISSING_INPUT', 'missing --image: the container image that runs kms-byok', { hint: 'e.g. --image registry.example.com/kms-byok:0.1.0' });
  safe('--image', o.image);
  safe('--bin', o.bin);
  if (o.plan !== undefined) return kubernetesPlanCronJob(o, o.plan);
  const secretKey = o.identity !== undefined ? 'identity' : o.passphraseFile !== undefined ? 'passphrase' : undefined;
  const args = scheduledArgs(o, {
    ...(secretKey === 'identity' ? { identity: `${IDENTITY_MOUNT}/identity` } : {}),
    ...(secretKey === 'passphrase' ? { passphraseFile: `${IDENTITY_MOUNT}/passphrase` } : {}),
    escrowDir: o.escrowDir,
  });
  const container = 'kms-byok';
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: {
      name: o.name,
      labels: { 'app.kubernetes.io/name': 'kms-byok', 'app.kubernetes.io/component': o.command },
      annotations: { 'kms-byok/core-dumps': KUBERNETES_CORE_DUMP_NOTE },
    },
    spec: {
      schedule: checkCron(o.cron),
      timeZone: 'Etc/UTC',
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: 3600,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 5,
      jobTemplate: {
        spec: {
          backoffLimit: 2,
          podFailurePolicy: { rules: [{ action: 'FailJob', onExitCodes: { containerName: container, operator: 'In', values: [2] } }] },
          template: {
            metadata: { labels: { 'app.kubernetes.io/name': 'kms-byok' } },
            spec: {
              restartPolicy: 'Never',
              serviceAccountName: o.serviceAccount ?? o.name,
              automountServiceAccountToken: true,
              securityContext: { runAsNonRoot: true, runAsUser: 10001, fsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } },
              containers: [
                {
                  name: container,
                  image: o.image,
                  command: [o.bin],
                  args,
                  env: [{ name: 'CI', value: 'true' }],
                  securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
                  volumeMounts: [
                    ...(secretKey ? [{ name: 'secret', mountPath: IDENTITY_MOUNT, readOnly: true }] : []),
                    { name: 'escrow', mountPath: o.escrowDir },
                    { name: 'tmp', mountPath: '/tmp' },
                  ],
                },
              ],
              volumes: [
                ...(secretKey ? [{ name: 'secret', secret: { secretName: o.secret ?? `${o.name}-${secretKey}`, defaultMode: 0o440, items: [{ key: secretKey, path: secretKey }] } }] : []),
                { name: 'escrow', persistentVolumeClaim: { claimName: o.escrowClaim ?? `${o.name}-escrow` } },
                { name: 'tmp', emptyDir: {} },
              ],
            },
          },
        },
      },
    },
  };
}

/**
 * The CronJob of a plan run. The plan's directory is the PersistentVolumeClaim (mounted at the same
 * absolute path, so the plan's relative paths resolve as on the host): every escrow directory must be
 * inside it. Each identity or passphrase file the plan names is an item of one Secret (`secret-0`,
 * `secret-1`, … in the plan's order), mounted read-only at its own path.
 */
function kubernetesPlanCronJob(o: ScheduleOptions, plan: SchedulePlan): Record<string, unknown> {
  const planDir = dirOf(plan.file);
  const outside = plan.escrowDirs.filter((d) => !inside(planDir, d));
  if (outside.length > 0) {
    throw new KmsByokError('ERR_USAGE', `the plan's escrow directory ${outside[0]} is outside the plan's directory ${planDir}`, {
      hint: 'in Kubernetes the plan\'s directory is the escrow volume (--escrow-claim): keep every "escrowDir" under it',
    });
  }
  // The single-key manifest (placeholder key and identity pass its checks), then its command and
  // volumes replaced by the plan run's.
  const { plan: _plan, ...single } = o;
  const job = kubernetesCronJob({ ...single, keys: ['-'], identity: '/-', escrowDir: planDir }) as any;
  const pod = job.spec.jobTemplate.spec.template.spec;
  const container = pod.containers[0];
  container.args = scheduledArgs(o, { escrowDir: planDir });
  if (o.shards !== undefined) {
    // An Indexed Job: N pods at once, pod K runs shard K/N (docs/fleet.md, "Shards"); a failed index
    // is retried alone (backoffLimitPerIndex), the others are not re-run.
    const spec = job.spec.jobTemplate.spec;
    job.spec.jobTemplate.spec = { completionMode: 'Indexed', completions: o.shards, parallelism: o.shards, backoffLimitPerIndex: 2, ...spec };
    delete job.spec.jobTemplate.spec.backoffLimit;
    job.metadata.annotations['kms-byok/shards'] = `${o.shards} shards by quota domain: pod K runs --shard K/${o.shards}; merge with kms-byok fleet report --plan ${plan.file}`;
    // Declared, not only injected by the Job controller, so $(JOB_COMPLETION_INDEX) in args always expands.
    container.env = [...container.env, { name: 'JOB_COMPLETION_INDEX', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } } }];
  }
  const secrets = [...new Set(plan.secrets)];
  container.volumeMounts = [
    { name: 'escrow', mountPath: planDir },
    ...secrets.map((path, i) => ({ name: 'secret', mountPath: path, subPath: `secret-${i}`, readOnly: true })),
    { name: 'tmp', mountPath: '/tmp' },
  ];
  pod.volumes = [
    ...(secrets.length > 0 ? [{ name: 'secret', secret: { secretName: o.secret ?? `${o.name}-secrets`, defaultMode: 0o440, items: secrets.map((_, i) => ({ key: `secret-${i}`, path: `secret-${i}` })) } }] : []),
    { name: 'escrow', persistentVolumeClaim: { claimName: o.escrowClaim ?? `${o.name}-escrow` } },
    { name: 'tmp', emptyDir: {} },
  ];
  return job;
}

function scalar(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null) return 'null';
  throw new Error(`cannot render ${typeof v} as YAML`);
}

/**
 * Block-style YAML for plain data. Every string is written as a JSON string, which is a valid YAML
 * double-quoted scalar, so no value can change type or meaning ("no", "0755", "1e3" stay strings).
 */
export function toYaml(value: unknown, indent = 0): string {
  const pad = ' '.repeat(indent);
  if (Array.isArray(value)) {
    if (value.length === 0) return `${pad}[]\n`;
    return value
      .map((item) => {
        if (item !== null && typeof item === 'object' && !(Array.isArray(item) && item.length === 0) && !(Object.keys(item).length === 0)) {
          const inner = toYaml(item, indent + 2);
          return `${pad}- ${inner.slice(indent + 2)}`;
        }
        return `${pad}- ${inlineOf(item)}\n`;
      })
      .join('');
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) return `${pad}{}\n`;
    return entries
      .map(([k, v]) => {
        const key = /^[A-Za-z_][A-Za-z0-9_.\/-]*$/.test(k) ? k : JSON.stringify(k);
        if (v !== null && typeof v === 'object' && !(Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0)) {
          return `${pad}${key}:\n${toYaml(v, Array.isArray(v) ? indent : indent + 2)}`;
        }
        return `${pad}${key}: ${inlineOf(v)}\n`;
      })
      .join('');
  }
  return `${pad}${scalar(value)}\n`;
}

function inlineOf(v: unknown): string {
  if (Array.isArray(v)) return '[]';
  if (v !== null && typeof v === 'object') return '{}';
  return scalar(v);
}
