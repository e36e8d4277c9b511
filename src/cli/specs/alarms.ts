/** `kms-byok alarms`: declaration (flags, help, examples). The command is in ../commands/alarms.ts. */
import type { CommandSpec } from '../command-spec.js';
import { HELP_FLAG, keyIdFlag } from './shared.js';

export const ALARMS: CommandSpec = {
  name: 'alarms',
  summary: 'print CloudWatch alarms and EventBridge rules for keys, as CloudFormation or Terraform',
  usage: ['alarms --print cloudformation|terraform --sns-topic-arn ARN (KEY... | --plan FILE) [flags]'],
  keys: 'many',
  description: `Prints, for key ids or ARNs (or every key of a fleet plan), the monitoring AWS documents for imported
material: a CloudWatch alarm per key on SecondsUntilKeyMaterialExpiration (AWS/KMS, dimension KeyId;
there is no account-wide form), EventBridge rules for "KMS Imported Key Material Expiration",
"KMS CMK Deletion" and "KMS CMK Rotation" to the SNS topic, and CloudTrail metric filters with alarms
for use of a key pending deletion (AWS's documented pattern) or disabled. CloudFormation is printed as
a JSON template; Terraform in its JSON syntax (save as kms-byok-alarms.tf.json). Offline: nothing is
sent to AWS. The SNS topic's policy must let events.amazonaws.com and cloudwatch.amazonaws.com publish.`,
  flags: {
    ...keyIdFlag('many'),
    print: { type: 'string', value: 'FORMAT', help: 'cloudformation (JSON template) or terraform (.tf.json)' },
    'sns-topic-arn': { type: 'string', value: 'ARN', help: 'SNS topic the alarms and rules notify' },
    plan: { type: 'string', value: 'FILE', help: 'every key of this fleet plan (keys given by id or ARN)' },
    'threshold-days': { type: 'string', value: 'DAYS', help: 'alarm when material expires within DAYS (default 30)' },
    'log-group': { type: 'string', value: 'NAME', help: 'CloudWatch Logs group of the CloudTrail trail (default CloudTrail/DefaultLogGroup)' },
    region: { type: 'string', value: 'REGION', help: 'Region of keys given by id (default: the ARN\'s, else us-east-1)' },
    account: { type: 'string', value: 'ID', help: 'account of keys given by id (needed for their ARNs)' },
    ...HELP_FLAG,
  },
  examples: ['$ kms-byok alarms --print cloudformation --sns-topic-arn arn:aws:sns:eu-west-1:111122223333:kms-alerts arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab > alarms.json'],
};
