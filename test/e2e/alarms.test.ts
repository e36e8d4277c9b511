/**
 * `kms-byok alarms`: the printed CloudFormation template and Terraform JSON are parsed and checked for
 * structure, AWS's exact names, and coverage of every key of the plan. Offline: no emulator.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alarmMatches, DISABLED_FILTER, PENDING_DELETION_FILTER } from '../../src/policy/alarms.js';
import { run } from './harness.js';

const TOPIC = 'arn:aws:sns:eu-west-1:111122223333:kms-alerts';
const KEYS = ['1234abcd-12ab-34cd-56ef-1234567890ab', '0987dcba-09fe-87dc-65ba-ab0987654321', 'mrk-1234abcd12ab34cd56ef1234567890ab'];
const arn = (id: string, region = 'eu-west-1') => `arn:aws:kms:${region}:111122223333:key/${id}`;

function planFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kms-byok-alarms-'));
  const path = join(dir, 'plan.json');
  writeFileSync(path, JSON.stringify({ version: 1, defaults: { region: 'eu-west-1' }, keys: [{ key: arn(KEYS[0]!) }, { key: arn(KEYS[1]!) }, { key: arn(KEYS[2]!, 'us-east-1') }] }));
  return path;
}

type Resource = { Type: string; Properties: Record<string, unknown> };

describe('alarms --print cloudformation', () => {
  it('declares an expiry alarm per key of the plan, the three EventBridge rules and the pending-deletion and disabled filters', async () => {
    const r = await run(['alarms', '--print', 'cloudformation', '--sns-topic-arn', TOPIC, '--plan', planFile(), '--threshold-days', '14']);
    expect(r.code, r.stderr).toBe(0);
    const t = JSON.parse(r.stdout) as { AWSTemplateFormatVersion: string; Resources: Record<string, Resource> };
    expect(t.AWSTemplateFormatVersion).toBe('2010-09-09');
    const all = Object.values(t.Resources);
    const expiry = all.filter((x) => x.Type === 'AWS::CloudWatch::Alarm' && x.Properties.MetricName === 'SecondsUntilKeyMaterialExpiration');
    expect(expiry).toHaveLength(KEYS.length);
    for (const a of expiry) {
      expect(a.Properties).toMatchObject({ Namespace: 'AWS/KMS', ComparisonOperator: 'LessThanThreshold', Threshold: 14 * 86_400, AlarmActions: [TOPIC] });
    }
    expect(expiry.map((a) => (a.Properties.Dimensions as { Name: string; Value: string }[])[0]!).sort((x, y) => x.Value.localeCompare(y.Value))).toEqual(
      [...KEYS].sort().map((k) => ({ Name: 'KeyId', Value: k })),
    );
    const rules = all.filter((x) => x.Type === 'AWS::Events::Rule');
    const patterns = rules.map((x) => x.Properties.EventPattern as { source: string[]; 'detail-type': string[]; resources: string[] });
    expect(patterns.map((p) => p['detail-type'][0]).sort()).toEqual(['KMS CMK Deletion', 'KMS CMK Rotation', 'KMS Imported Key Material Expiration']);
    for (const p of patterns) {
      expect(p.source).toEqual(['aws.kms']);
      expect([...p.resources].sort()).toEqual([arn(KEYS[0]!), arn(KEYS[1]!), arn(KEYS[2]!, 'us-east-1')].sort());
    }
    for (const rule of rules) expect(rule.Properties.Targets).toEqual([{ Arn: TOPIC, Id: 'sns' }]);
    const filters = all.filter((x) => x.Type === 'AWS::Logs::MetricFilter');
    expect(filters.map((f) => f.Properties.FilterPattern).sort()).toEqual([DISABLED_FILTER.pattern, PENDING_DELETION_FILTER.pattern].sort());
    expect(filters.every((f) => f.Properties.LogGroupName === 'CloudTrail/DefaultLogGroup')).toBe(true);
    // Each filter's metric has its alarm.
    for (const f of filters) {
      const metric = (f.Properties.MetricTransformations as { MetricName: string; MetricNamespace: string }[])[0]!;
      expect(all.some((x) => x.Type === 'AWS::CloudWatch::Alarm' && x.Properties.MetricName === metric.MetricName && x.Properties.Namespace === metric.MetricNamespace)).toBe(true);
    }
  });
});

describe('alarms --print terraform (.tf.json)', () => {
  it('declares the same resources in Terraform JSON syntax, every key of the plan covered', async () => {
    const r = await run(['alarms', '--print', 'terraform', '--sns-topic-arn', TOPIC, '--plan', planFile(), '--log-group', 'org-trail']);
    expect(r.code, r.stderr).toBe(0);
    const tf = JSON.parse(r.stdout) as { resource: Record<string, Record<string, Record<string, unknown>>> };
    expect(Object.keys(tf.resource).sort()).toEqual(['aws_cloudwatch_event_rule', 'aws_cloudwatch_event_target', 'aws_cloudwatch_log_metric_filter', 'aws_cloudwatch_metric_alarm']);
    const expiry = Object.values(tf.resource.aws_cloudwatch_metric_alarm!).filter((a) => a.metric_name === 'SecondsUntilKeyMaterialExpiration');
    expect(expiry.map((a) => (a.dimensions as { KeyId: string }).KeyId).sort()).toEqual([...KEYS].sort());
    expect(expiry.every((a) => a.namespace === 'AWS/KMS')).toBe(true);
    const rules = tf.resource.aws_cloudwatch_event_rule!;
    const detailTypes = Object.values(rules).map((x) => (JSON.parse(x.event_pattern as string) as { 'detail-type': string[] })['detail-type'][0]);
    expect(detailTypes.sort()).toEqual(['KMS CMK Deletion', 'KMS CMK Rotation', 'KMS Imported Key Material Expiration']);
    // Every rule has its target, by reference.
    for (const id of Object.keys(rules)) expect(tf.resource.aws_cloudwatch_event_target![id]).toMatchObject({ rule: `\${aws_cloudwatch_event_rule.${id}.name}`, arn: TOPIC });
    const filters = Object.values(tf.resource.aws_cloudwatch_log_metric_filter!);
    expect(filters.map((f) => f.pattern).sort()).toEqual([DISABLED_FILTER.pattern, PENDING_DELETION_FILTER.pattern].sort());
    expect(filters.every((f) => f.log_group_name === 'org-trail')).toBe(true);
  });

  it("AWS's pending-deletion pattern matches KMS's error for a key pending deletion, not other errors", () => {
    const msg = `${arn(KEYS[0]!)} is pending deletion.`;
    expect(alarmMatches(PENDING_DELETION_FILTER, { eventSource: 'kms.amazonaws.com', errorCode: 'KMSInvalidStateException', errorMessage: msg })).toBe(true);
    expect(alarmMatches(PENDING_DELETION_FILTER, { eventSource: 'kms.amazonaws.com', errorCode: 'KMSInvalidStateException', errorMessage: `${arn(KEYS[0]!)} is pending import.` })).toBe(false);
    expect(alarmMatches(DISABLED_FILTER, { eventSource: 'kms.amazonaws.com', errorCode: 'DisabledException' })).toBe(true);
  });
});

describe('alarms: bad input (exit 2)', () => {
  it.each([
    [['--print', 'yaml', '--sns-topic-arn', TOPIC, arn(KEYS[0]!)], 'invalid --print'],
    [['--print', 'terraform', arn(KEYS[0]!)], 'missing --sns-topic-arn'],
    [['--print', 'terraform', '--sns-topic-arn', TOPIC], 'missing KEY or --plan'],
    [['--print', 'terraform', '--sns-topic-arn', TOPIC, 'alias/app'], 'cannot name alias/app'],
    [['--print', 'terraform', '--sns-topic-arn', TOPIC, KEYS[0]!], '(or --account with the key id)'],
  ])('%j', async (argv, message) => {
    const r = await run(['alarms', ...argv]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe('');
  });
});
