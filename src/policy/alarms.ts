/**
 * Alarms as code (docs/audit.md, "Alarms"): for a set of keys, the monitoring AWS documents for
 * imported key material, as a CloudFormation template (JSON) or Terraform JSON syntax (`.tf.json`).
 * Pure: strings in, a document out.
 *
 * What it declares (names exactly as the KMS developer guide spells them):
 * - per key, a CloudWatch alarm on `SecondsUntilKeyMaterialExpiration` (namespace `AWS/KMS`, dimension
 *   `KeyId`; AWS has no account-wide form), below `thresholdDays`;
 * - EventBridge rules (source `aws.kms`) for the detail-types `KMS Imported Key Material Expiration`,
 *   `KMS CMK Deletion` and `KMS CMK Rotation`, limited to the keys' ARNs, to the SNS topic given;
 * - a CloudWatch Logs metric filter on the CloudTrail log group with AWS's documented pattern for use of
 *   a key pending deletion (`{ $.eventSource = kms* && $.errorMessage = "* is pending deletion."}`,
 *   metric `CloudTrailMetrics/KMSKeyPendingDeletionErrorCount`) and its alarm; and the same for use of a
 *   disabled key (`$.errorCode = "DisabledException"`, kms-byok's addition in AWS's form).
 */
export interface AlarmKey {
  keyId: string;
  keyArn: string;
}

export interface AlarmOptions {
  keys: AlarmKey[];
  snsTopicArn: string;
  /** Alarm when the earliest material expires within this many days. */
  thresholdDays: number;
  /** The CloudWatch Logs group the CloudTrail trail delivers to. */
  logGroupName: string;
}

export const EXPIRY_METRIC = { namespace: 'AWS/KMS', metricName: 'SecondsUntilKeyMaterialExpiration', dimension: 'KeyId' } as const;
export const KMS_DETAIL_TYPES = ['KMS Imported Key Material Expiration', 'KMS CMK Deletion', 'KMS CMK Rotation'] as const;
export const PENDING_DELETION_FILTER = { pattern: '{ $.eventSource = kms* && $.errorMessage = "* is pending deletion."}', namespace: 'CloudTrailMetrics', metricName: 'KMSKeyPendingDeletionErrorCount' } as const;
export const DISABLED_FILTER = { pattern: '{ $.eventSource = kms* && $.errorCode = "DisabledException" }', namespace: 'CloudTrailMetrics', metricName: 'KMSKeyDisabledErrorCount' } as const;

const RULE_NAMES: Record<(typeof KMS_DETAIL_TYPES)[number], string> = {
  'KMS Imported Key Material Expiration': 'KeyMaterialExpiration',
  'KMS CMK Deletion': 'KeyDeletion',
  'KMS CMK Rotation': 'KeyRotation',
};

/** A short stable suffix for names derived from a key id. */
function tag(keyId: string): string {
  return keyId.replace(/[^A-Za-z0-9]/g, '').slice(0, 32);
}

/** FNV-1a of the sorted key ARNs, 8 hex digits: names of shared resources differ per set of keys. */
function suffix(keys: AlarmKey[]): string {
  let h = 0x811c9dc5;
  for (const c of keys.map((k) => k.keyArn).sort().join(',')) {
    h ^= c.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

function expiryAlarm(k: AlarmKey, o: AlarmOptions) {
  return {
    name: `kms-byok-material-expiry-${k.keyId}`,
    description: `Imported key material of ${k.keyArn} expires within ${o.thresholdDays} days: re-import it (kms-byok reimport ${k.keyId})`,
    threshold: o.thresholdDays * 86_400,
  };
}

function eventPattern(detailType: string, keys: AlarmKey[]) {
  return { source: ['aws.kms'], 'detail-type': [detailType], resources: keys.map((k) => k.keyArn) };
}

/** A CloudFormation template (JSON). */
export function cloudFormationAlarms(o: AlarmOptions): Record<string, unknown> {
  const resources: Record<string, unknown> = {};
  for (const k of o.keys) {
    const a = expiryAlarm(k, o);
    resources[`MaterialExpiryAlarm${tag(k.keyId)}`] = {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmName: a.name,
        AlarmDescription: a.description,
        Namespace: EXPIRY_METRIC.namespace,
        MetricName: EXPIRY_METRIC.metricName,
        Dimensions: [{ Name: EXPIRY_METRIC.dimension, Value: k.keyId }],
        Statistic: 'Minimum',
        Period: 3600,
        EvaluationPeriods: 1,
        Threshold: a.threshold,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [o.snsTopicArn],
      },
    };
  }
  const s = suffix(o.keys);
  for (const dt of KMS_DETAIL_TYPES) {
    resources[`${RULE_NAMES[dt]}Rule`] = {
      Type: 'AWS::Events::Rule',
      Properties: {
        Name: `kms-byok-${RULE_NAMES[dt]}-${s}`,
        Description: `${dt} events of the keys kms-byok manages`,
        EventPattern: eventPattern(dt, o.keys),
        State: 'ENABLED',
        Targets: [{ Arn: o.snsTopicArn, Id: 'sns' }],
      },
    };
  }
  for (const [name, f] of [['PendingDeletion', PENDING_DELETION_FILTER], ['Disabled', DISABLED_FILTER]] as const) {
    resources[`KeyUse${name}MetricFilter`] = {
      Type: 'AWS::Logs::MetricFilter',
      Properties: { LogGroupName: o.logGroupName, FilterPattern: f.pattern, MetricTransformations: [{ MetricNamespace: f.namespace, MetricName: f.metricName, MetricValue: '1' }] },
    };
    resources[`KeyUse${name}Alarm`] = {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmName: `kms-byok-use-of-${name === 'Disabled' ? 'disabled' : 'pending-deletion'}-key-${s}`,
        AlarmDescription: `Someone tried to use a KMS key that is ${name === 'Disabled' ? 'disabled' : 'pending deletion'}: see CloudTrail (kms-byok audit) and consider kms-byok retire KEY --cancel`,
        Namespace: f.namespace,
        MetricName: f.metricName,
        Statistic: 'Sum',
        Period: 300,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [o.snsTopicArn],
      },
    };
  }
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: `kms-byok alarms for ${o.keys.length} key(s): material expiry, KMS events, use of disabled or pending-deletion keys`,
    Resources: resources,
  };
}

/** Terraform JSON syntax (save as `kms-byok-alarms.tf.json`). */
export function terraformAlarms(o: AlarmOptions): Record<string, unknown> {
  const alarms: Record<string, unknown> = {};
  const rules: Record<string, unknown> = {};
  const targets: Record<string, unknown> = {};
  const filters: Record<string, unknown> = {};
  for (const k of o.keys) {
    const a = expiryAlarm(k, o);
    alarms[`kms_byok_material_expiry_${tag(k.keyId)}`] = {
      alarm_name: a.name,
      alarm_description: a.description,
      namespace: EXPIRY_METRIC.namespace,
      metric_name: EXPIRY_METRIC.metricName,
      dimensions: { [EXPIRY_METRIC.dimension]: k.keyId },
      statistic: 'Minimum',
      period: 3600,
      evaluation_periods: 1,
      threshold: a.threshold,
      comparison_operator: 'LessThanThreshold',
      treat_missing_data: 'notBreaching',
      alarm_actions: [o.snsTopicArn],
    };
  }
  const s = suffix(o.keys);
  for (const dt of KMS_DETAIL_TYPES) {
    const id = `kms_byok_${RULE_NAMES[dt].replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase()}`;
    rules[id] = { name: `kms-byok-${RULE_NAMES[dt]}-${s}`, description: `${dt} events of the keys kms-byok manages`, event_pattern: JSON.stringify(eventPattern(dt, o.keys)) };
    targets[id] = { rule: `\${aws_cloudwatch_event_rule.${id}.name}`, target_id: 'sns', arn: o.snsTopicArn };
  }
  for (const [name, f] of [['pending_deletion', PENDING_DELETION_FILTER], ['disabled', DISABLED_FILTER]] as const) {
    filters[`kms_byok_use_of_${name}_key`] = { name: `kms-byok-use-of-${name.replace('_', '-')}-key-${s}`, log_group_name: o.logGroupName, pattern: f.pattern, metric_transformation: { name: f.metricName, namespace: f.namespace, value: '1' } };
    alarms[`kms_byok_use_of_${name}_key`] = {
      alarm_name: `kms-byok-use-of-${name.replace('_', '-')}-key-${s}`,
      alarm_description: `Someone tried to use a KMS key that is ${name.replace('_', ' ')}: see CloudTrail (kms-byok audit)`,
      namespace: f.namespace,
      metric_name: f.metricName,
      statistic: 'Sum',
      period: 300,
      evaluation_periods: 1,
      threshold: 1,
      comparison_operator: 'GreaterThanOrEqualToThreshold',
      treat_missing_data: 'notBreaching',
      alarm_actions: [o.snsTopicArn],
    };
  }
  return {
    resource: {
      aws_cloudwatch_metric_alarm: alarms,
      aws_cloudwatch_event_rule: rules,
      aws_cloudwatch_event_target: targets,
      aws_cloudwatch_log_metric_filter: filters,
    },
  };
}

/** Whether a CloudWatch Logs filter pattern of these alarms matches a CloudTrail record (the two patterns above only). */
export function alarmMatches(filter: { pattern: string }, record: { eventSource?: string; errorCode?: string; errorMessage?: string }): boolean {
  if (!record.eventSource?.startsWith('kms')) return false;
  if (filter.pattern === PENDING_DELETION_FILTER.pattern) return /^.* is pending deletion\.$/.test(record.errorMessage ?? '');
  if (filter.pattern === DISABLED_FILTER.pattern) return record.errorCode === 'DisabledException';
  return false;
}
