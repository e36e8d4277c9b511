/**
 * `kms-byok alarms --print cloudformation|terraform --sns-topic-arn ARN (KEY... | --plan FILE)`:
 * prints alarms as code (src/policy/alarms.ts; docs/audit.md "Alarms"). Offline: keys are given by ARN
 * (or by id with --account and --region), never looked up; every input mistake is exit 2.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ExitCode, KmsByokError } from '../../core/errors.js';
import { isAccountId, isKeyId, isRegion, parseKeyArn } from '../../core/aws-ids.js';
import { cloudFormationAlarms, terraformAlarms, type AlarmKey } from '../../policy/alarms.js';
import { bool, str } from '../args.js';
import { helpText, parseCommand } from '../command-spec.js';
import { ALARMS } from '../specs/alarms.js';
import type { Io } from '../io.js';

const SNS_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;

export async function alarms(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(argv, ALARMS, io.env);
  if (bool(p, 'help')) {
    io.stdout.write(helpText(ALARMS));
    return ExitCode.ok;
  }
  const format = str(p, 'print');
  if (format !== 'cloudformation' && format !== 'terraform') {
    throw new KmsByokError(format === undefined ? 'ERR_MISSING_INPUT' : 'ERR_INVALID_ARGUMENT', format === undefined ? 'missing --print: which format' : `invalid --print "${format}"`, { hint: 'use --print cloudformation or --print terraform' });
  }
  const topic = str(p, 'sns-topic-arn');
  if (topic === undefined || !SNS_ARN.test(topic)) {
    throw new KmsByokError(topic === undefined ? 'ERR_MISSING_INPUT' : 'ERR_INVALID_ARGUMENT', topic === undefined ? 'missing --sns-topic-arn: where the alarms and rules notify' : `invalid --sns-topic-arn "${topic}"`, { hint: 'e.g. --sns-topic-arn arn:aws:sns:eu-west-1:111122223333:kms-alerts' });
  }
  const thresholdText = str(p, 'threshold-days') ?? '30';
  if (!/^\d{1,3}$/.test(thresholdText) || Number(thresholdText) < 1 || Number(thresholdText) > 365) throw new KmsByokError('ERR_INVALID_ARGUMENT', `invalid --threshold-days "${thresholdText}"`, { hint: 'give 1 to 365 days, e.g. 30' });
  const region = str(p, 'region');
  if (region !== undefined && !isRegion(region)) throw new KmsByokError('ERR_INVALID_ARGUMENT', `invalid --region "${region}"`, { hint: 'e.g. eu-west-1' });
  const account = str(p, 'account');
  if (account !== undefined && !isAccountId(account)) throw new KmsByokError('ERR_INVALID_ARGUMENT', `invalid --account "${account}": 12 digits`, { hint: 'e.g. --account 111122223333' });

  const refs: { key: string; region?: string }[] = p.positionals.map((k) => ({ key: k }));
  const planFile = str(p, 'plan');
  if (planFile !== undefined) {
    const path = resolve(io.cwd, planFile);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new KmsByokError('ERR_FILE_READ', `cannot read --plan ${planFile} (${(e as { code?: string }).code ?? 'error'})`, { hint: 'check the path' });
    }
    const { parsePlan } = await import('../../fleet/plan.js');
    // Only the keys matter here: escrow directories and identities named by the plan need not exist on this machine.
    const plan = parsePlan(text, { baseDir: dirname(path), exists: () => true, now: new Date(), resolvePath: resolve });
    for (const e of plan.entries) refs.push({ key: e.key, region: e.region });
  }
  if (refs.length === 0) throw new KmsByokError('ERR_MISSING_INPUT', 'missing KEY or --plan: which keys to watch', { hint: 'give key ARNs, or --plan FILE' });
  const keys: AlarmKey[] = [];
  for (const r of refs) {
    const arn = parseKeyArn(r.key);
    if (arn) keys.push({ keyId: arn.keyId, keyArn: r.key });
    else if (isKeyId(r.key) && account !== undefined) keys.push({ keyId: r.key, keyArn: `arn:aws:kms:${r.region ?? region ?? 'us-east-1'}:${account}:key/${r.key}` });
    else {
      throw new KmsByokError('ERR_INVALID_ARGUMENT', `cannot name ${r.key} in alarms: give its key ARN${isKeyId(r.key) ? ' (or --account with the key id)' : ''}`, {
        hint: 'alarms is offline: aliases are not resolved (aws kms describe-key --key-id ALIAS shows the ARN)',
      });
    }
  }
  const unique = [...new Map(keys.map((k) => [k.keyArn, k])).values()];
  const options = { keys: unique, snsTopicArn: topic, thresholdDays: Number(thresholdText), logGroupName: str(p, 'log-group') ?? 'CloudTrail/DefaultLogGroup' };
  const doc = format === 'cloudformation' ? cloudFormationAlarms(options) : terraformAlarms(options);
  io.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  return ExitCode.ok;
}
