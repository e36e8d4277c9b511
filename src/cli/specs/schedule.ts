/** `kms-byok schedule`: declaration (flags, help, examples). The command is in ../commands/schedule.ts. */
import type { CommandSpec } from '../command-spec.js';
import { OUTPUT } from './shared.js';

export const SCHEDULE: CommandSpec = {
  name: 'schedule',
  summary: 'print a systemd timer, crontab line, Kubernetes CronJob or EventBridge/Lambda stack for unattended re-import',
  usage: [
    'schedule --print systemd|cron|kubernetes (--key KEY... | --keys-file FILE)',
    '    (--identity FILE | --passphrase-file FILE) [--escrow-dir DIR] [flags] [--json]',
    'schedule --print systemd|cron|kubernetes --plan FLEET.json [--before 30d] [flags] [--json]',
    'schedule --print kubernetes|eventbridge --plan FLEET.json --shards N [flags]',
  ],
  description: `Prints a ready schedule for the unattended re-import (docs/scheduling.md):
    kms-byok reimport KEY... --before 30d --expires-in 90d --identity FILE --escrow-dir DIR
systemd: a oneshot service (the identity passed read-only through LoadCredential=) and its timer;
cron: one crontab line; kubernetes: a batch/v1 CronJob (YAML; --json prints it as JSON), the identity
mounted read-only from a Secret (with --shards N: an Indexed Job, pod K runs --shard K/N);
eventbridge: a CloudFormation template (JSON) with one EventBridge Scheduler schedule per shard
invoking a Lambda function that runs kms-byok/lambda, the escrow on an EFS access point, the identity
as a KMS ciphertext decrypted with an encryption context, results to SNS. Refused with exit 2: a schedule that would prompt (no --identity or
--passphrase-file, or --passphrase-file -), or a --command that is not unattended.`,
  flags: {
    print: { type: 'string', value: 'FORMAT', help: 'systemd, cron, kubernetes or eventbridge (a CloudFormation template, JSON)' },
    shards: { type: 'string', value: 'N', help: 'kubernetes, eventbridge with --plan: run the plan as N shards by quota domain\n(an Indexed Job of N pods; N schedules of one Lambda function)' },
    command: { type: 'string', value: 'CMD', help: 'reimport (default) or status (exit 3 when a key needs attention)' },
    key: { type: 'string', multiple: true, value: 'KEY', help: 'key id, ARN or alias/NAME (repeatable)' },
    'keys-file': { type: 'string', value: 'FILE', help: 'keys listed one per line (# comments), read now' },
    plan: { type: 'string', value: 'FILE', help: 'a fleet plan (docs/fleet.md): schedules reimport --plan FILE (or status\n--plan FILE); keys, Regions, escrow, expiry and identities come from it' },
    before: { type: 'string', value: 'DURATION', help: 're-import keys whose ValidTo is within DURATION (default 30d)' },
    'expires-in': { type: 'string', value: 'DURATION', help: 'the new expiry (default 90d; must be longer than --before)' },
    'warn-days': { type: 'string', value: 'N', help: '--command status: attention when a ValidTo is within N days (default 30)' },
    identity: { type: 'string', value: 'FILE', help: 'age identity that opens the escrows (mounted read-only)' },
    'passphrase-file': { type: 'string', value: 'FILE', help: 'passphrase file instead' },
    'escrow-dir': { type: 'string', value: 'DIR', help: 'escrow directory (writable; default ./escrow, /var/lib/kms-byok/escrow in k8s)' },
    region: { type: 'string', value: 'REGION', help: 'AWS Region of the keys' },
    profile: { type: 'string', value: 'NAME', help: 'AWS profile (systemd and cron)' },
    'on-calendar': { type: 'string', value: 'EXPR', help: 'systemd OnCalendar (default "*-*-* 03:17:00")' },
    cron: { type: 'string', value: 'EXPR', help: 'cron and kubernetes schedule (default "17 3 * * *")' },
    image: { type: 'string', value: 'IMAGE', help: 'kubernetes: the container image (required)' },
    name: { type: 'string', value: 'NAME', help: 'unit / CronJob name (default kms-byok-reimport)' },
    bin: { type: 'string', value: 'PATH', help: 'kms-byok executable (default /usr/local/bin/kms-byok; kms-byok in k8s)' },
    user: { type: 'string', value: 'USER', help: 'systemd User= (default kms-byok)' },
    log: { type: 'string', value: 'FILE', help: 'cron: log file (default /var/log/kms-byok/reimport.log)' },
    'service-account': { type: 'string', value: 'NAME', help: 'kubernetes: ServiceAccount with the re-import role (default NAME)' },
    secret: { type: 'string', value: 'NAME', help: 'kubernetes: Secret holding the identity (default NAME-identity)' },
    'escrow-claim': { type: 'string', value: 'NAME', help: 'kubernetes: PersistentVolumeClaim of the escrow (default NAME-escrow)' },
    json: { type: 'boolean', help: 'print the result as JSON' },
    help: OUTPUT.help!,
  },
  notes: `Exit codes of the scheduled run: 0 re-imported or not due, 1 failed (the next run retries; alert),
2 configuration error (fix the schedule; never retried), 3 status found something to act on.`,
  examples: [
    `$ kms-byok schedule --print systemd --key alias/payments --identity /etc/kms-byok/custodian.txt \\
    --escrow-dir /var/lib/kms-byok/escrow --region eu-west-1`,
    '$ kms-byok schedule --print cron --plan /etc/kms-byok/fleet.json --before 30d',
    '$ kms-byok schedule --print kubernetes --plan /srv/fleet/fleet.json --shards 4 --image registry.example.com/kms-byok:0.1.0',
    '$ kms-byok schedule --print eventbridge --plan /srv/fleet/fleet.json --shards 4 --name payments-fleet > payments-fleet.json',
    `$ kms-byok schedule --print kubernetes --key alias/payments --identity custodian.txt \\
    --image registry.example.com/kms-byok:0.1.0 --region eu-west-1 > cronjob.yaml`,
  ],
};
