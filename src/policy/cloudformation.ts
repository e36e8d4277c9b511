/**
 * `schedule --print eventbridge`: a CloudFormation template (JSON) that runs a fleet plan's shards on
 * AWS (docs/fleet.md, "On AWS"). Pure: a function of the options.
 *
 * - one `AWS::Scheduler::Schedule` per shard, each invoking the function with the Input
 *   `{"command", "plan", "shard": "K/N"}` (src/lambda/index.ts);
 * - an `AWS::Lambda::Function` running the package's handler (`kms-byok/lambda`), in the VPC given
 *   as parameters, with the plan's directory (plan, escrows, run states, transcript) on an EFS access
 *   point (`AWS::EFS::AccessPoint`, mounted at {@link EFS_MOUNT});
 * - the custodian identity only as a KMS ciphertext (a NoEcho parameter, base64) under a separate key,
 *   which the role may decrypt only with the fleet's encryption context;
 * - results to an SNS topic (the function's asynchronous-invocation destinations);
 * - least-privilege roles: the function's (kms:Decrypt on the identity key with kms:EncryptionContext
 *   conditions; the re-import actions on the plan's keys only; sns:Publish on the topic; EFS mount
 *   through the access point) and the scheduler's (lambda:InvokeFunction on the function).
 */
import { KmsByokError } from '../core/errors.js';
import { checkCron, type ScheduledCommand, type SchedulePlan } from './schedule.js';
import { PROVE_WITHOUT_CONTEXT, schedulerKeyActions } from './key-policy.js';

/** Where the function sees the plan's directory. */
export const EFS_MOUNT = '/mnt/kms-byok';

/**
 * What the function's role may do to the plan's keys: exactly the key policy's `--scheduler-role`
 * (src/policy/key-policy.ts, docs/custody.md "Renewal seals") — re-import, read state and anchors,
 * prove; never TagResource. Encrypt/Decrypt only without an encryption context (the proof's), so the
 * role cannot decrypt the keys' real ciphertexts.
 */
const SCHEDULER = schedulerKeyActions();
export const FLEET_KEY_ACTIONS = [...SCHEDULER.import, ...SCHEDULER.proveOther] as const;
export const FLEET_PROVE_ACTIONS = SCHEDULER.proveSymmetric;
const STATUS_KEY_ACTIONS = ['kms:DescribeKey', 'kms:ListKeyRotations', 'kms:ListResourceTags'] as const;

export interface EventBridgeOptions {
  command: ScheduledCommand;
  /** Base name of the resources (lower-case letters, digits, -). Also the identity's encryption context. */
  name: string;
  /** 5-field cron (UTC), converted to EventBridge's 6-field form. */
  cron: string;
  /** reimport: only keys whose ValidTo is within this. */
  before: string;
  shards: number;
  plan: SchedulePlan;
}

const sub = (s: string) => ({ 'Fn::Sub': s });
const ref = (s: string) => ({ Ref: s });
const att = (r: string, a: string) => ({ 'Fn::GetAtt': [r, a] });

/**
 * A 5-field cron (`17 3 * * *`) as EventBridge's `cron(17 3 * * ? *)`: one of day-of-month and
 * day-of-week must be `?`, and days of the week count 1 (Sunday) to 7.
 */
export function eventBridgeCron(expr: string): string {
  const [min, hour, dom, month, dow] = checkCron(expr).split(' ') as [string, string, string, string, string];
  if (dom !== '*' && dow !== '*') {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `--cron "${expr}" names both a day of the month and a day of the week: EventBridge takes one`, { hint: 'set one of them to *' });
  }
  const weekday = dow === '*' ? '?' : dow.replace(/\d+/g, (d) => String((Number(d) % 7) + 1));
  return `cron(${min} ${hour} ${dow === '*' ? dom : '?'} ${month} ${weekday} *)`;
}

function keyResources(plan: SchedulePlan): { arns: unknown[]; aliases: string[] } {
  const arns: unknown[] = [];
  const aliases: string[] = [];
  for (const { key, region } of plan.keys ?? []) {
    if (key.startsWith('arn:')) {
      const m = /^(arn:[^:]+:kms:[^:]+:\d{12}):(alias\/.+)$/.exec(key);
      if (m) aliases.push(m[2]!);
      else arns.push(key);
    } else if (key.startsWith('alias/')) aliases.push(key);
    else arns.push(sub(`arn:\${AWS::Partition}:kms:${region}:\${AWS::AccountId}:key/${key}`));
  }
  return { arns, aliases: [...new Set(aliases)] };
}

/** The template (a JSON-able object). @throws KmsByokError ERR_INVALID_ARGUMENT / ERR_USAGE */
export function eventBridgeTemplate(o: EventBridgeOptions): Record<string, unknown> {
  if (!/^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/.test(o.name)) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `--name "${o.name}" is not a valid name for the stack's resources`, { hint: 'lower-case letters, digits and -, at most 40, e.g. kms-byok-reimport' });
  }
  if (!/^[A-Za-z0-9]+$/.test(o.before)) throw new KmsByokError('ERR_INVALID_ARGUMENT', `invalid --before "${o.before}"`, { hint: 'e.g. --before 30d' });
  if (!Number.isInteger(o.shards) || o.shards < 1) throw new KmsByokError('ERR_INVALID_ARGUMENT', `invalid shard count ${o.shards}`, { hint: 'give --shards N with N ≥ 1' });
  const planDir = o.plan.file.slice(0, o.plan.file.lastIndexOf('/')) || '/';
  const outside = o.plan.escrowDirs.filter((d) => d !== planDir && !d.startsWith(`${planDir}/`));
  if (outside.length > 0) {
    throw new KmsByokError('ERR_USAGE', `the plan's escrow directory ${outside[0]} is outside the plan's directory ${planDir}`, {
      hint: 'on AWS the plan\'s directory is the EFS access point: keep every "escrowDir" under it',
    });
  }
  const planOnEfs = `${EFS_MOUNT}/${o.plan.file.slice(planDir.length + 1)}`;
  const schedule = eventBridgeCron(o.cron);
  const { arns, aliases } = keyResources(o.plan);
  const actions = o.command === 'reimport' ? [...FLEET_KEY_ACTIONS] : [...STATUS_KEY_ACTIONS];
  const keyStatements: unknown[] = [];
  const prove = o.command === 'reimport';
  if (arns.length > 0) {
    keyStatements.push({ Sid: 'FleetKeys', Effect: 'Allow', Action: actions, Resource: arns });
    if (prove) keyStatements.push({ Sid: 'FleetKeysProveWithoutContext', Effect: 'Allow', Action: [...FLEET_PROVE_ACTIONS], Resource: arns, Condition: PROVE_WITHOUT_CONTEXT });
  }
  if (aliases.length > 0) {
    // Keys the plan names by alias: only keys that carry one of these aliases (kms:ResourceAliases).
    const byAlias = { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': aliases } };
    const anyKey = sub('arn:${AWS::Partition}:kms:*:${AWS::AccountId}:key/*');
    keyStatements.push({ Sid: 'FleetKeysByAlias', Effect: 'Allow', Action: actions, Resource: anyKey, Condition: byAlias });
    if (prove) keyStatements.push({ Sid: 'FleetKeysByAliasProveWithoutContext', Effect: 'Allow', Action: [...FLEET_PROVE_ACTIONS], Resource: anyKey, Condition: { ...byAlias, ...PROVE_WITHOUT_CONTEXT } });
    keyStatements.push({ Sid: 'ResolveAliases', Effect: 'Allow', Action: ['kms:ListAliases'], Resource: '*' });
  }
  const context = { 'kms-byok:purpose': 'custodian-identity', 'kms-byok:fleet': o.name };
  const rolePolicies: unknown[] = [
    { PolicyName: 'fleet-keys', PolicyDocument: { Version: '2012-10-17', Statement: keyStatements } },
    {
      PolicyName: 'results',
      PolicyDocument: { Version: '2012-10-17', Statement: [{ Sid: 'PublishResults', Effect: 'Allow', Action: ['sns:Publish'], Resource: ref('ResultsTopic') }] },
    },
    {
      PolicyName: 'escrow-volume',
      PolicyDocument: {
        // ClientWrite: a run writes to the plan's directory — sidecar updates (ValidTo facts), the
        // fleet run state, journals and the transcript (docs/fleet.md, "On AWS"); status writes its run state.
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'MountEscrowAccessPoint',
            Effect: 'Allow',
            Action: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite'],
            Resource: sub('arn:${AWS::Partition}:elasticfilesystem:${AWS::Region}:${AWS::AccountId}:file-system/${EscrowFileSystemId}'),
            Condition: { StringEquals: { 'elasticfilesystem:AccessPointArn': att('EscrowAccessPoint', 'Arn') } },
          },
        ],
      },
    },
  ];
  if (o.command === 'reimport') {
    rolePolicies.unshift({
      PolicyName: 'custodian-identity',
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'DecryptIdentityWithFleetContext',
            Effect: 'Allow',
            Action: ['kms:Decrypt'],
            Resource: ref('IdentityKeyArn'),
            Condition: { StringEquals: Object.fromEntries(Object.entries(context).map(([k, v]) => [`kms:EncryptionContext:${k}`, v])) },
          },
        ],
      },
    });
  }
  const parameters: Record<string, unknown> = {
    CodeS3Bucket: { Type: 'String', Description: 'S3 bucket of the function package (index.mjs: export { handler } from "kms-byok/lambda"; with node_modules)' },
    CodeS3Key: { Type: 'String', Description: 'S3 key of the function package (.zip)' },
    EscrowFileSystemId: { Type: 'String', Description: "EFS file system holding the plan's directory (plan, escrows, run states, transcript)" },
    EscrowRootPath: { Type: 'String', Default: '/kms-byok', Description: "the plan's directory on the file system (the access point's root)" },
    SubnetIds: { Type: 'List<AWS::EC2::Subnet::Id>', Description: 'subnets with a route to KMS (VPC endpoint or NAT) and to the EFS mount targets' },
    SecurityGroupIds: { Type: 'List<AWS::EC2::SecurityGroup::Id>', Description: 'security groups allowing NFS (2049) to the mount targets and HTTPS to KMS' },
  };
  if (o.command === 'reimport') {
    parameters.IdentityKeyArn = { Type: 'String', Description: 'ARN of the separate KMS key the custodian identity is encrypted under' };
    parameters.IdentityCiphertext = {
      Type: 'String',
      NoEcho: true,
      Description: `base64 CiphertextBlob of the age identity: aws kms encrypt --key-id KEY --plaintext fileb://custodian.txt --encryption-context kms-byok:purpose=custodian-identity,kms-byok:fleet=${o.name} --query CiphertextBlob --output text`,
    };
  }
  const resources: Record<string, unknown> = {
    ResultsTopic: { Type: 'AWS::SNS::Topic', Properties: { TopicName: `${o.name}-results`, KmsMasterKeyId: 'alias/aws/sns' } },
    EscrowAccessPoint: {
      Type: 'AWS::EFS::AccessPoint',
      Properties: {
        FileSystemId: ref('EscrowFileSystemId'),
        PosixUser: { Uid: '10001', Gid: '10001' },
        RootDirectory: { Path: ref('EscrowRootPath'), CreationInfo: { OwnerUid: '10001', OwnerGid: '10001', Permissions: '0700' } },
      },
    },
    FunctionRole: {
      Type: 'AWS::IAM::Role',
      Properties: {
        AssumeRolePolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] },
        // Logs and the VPC network interfaces only.
        ManagedPolicyArns: [sub('arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole')],
        Policies: rolePolicies,
      },
    },
    Function: {
      Type: 'AWS::Lambda::Function',
      Properties: {
        FunctionName: o.name,
        Description: `kms-byok ${o.command} --plan, one shard per invocation (docs/fleet.md)`,
        Runtime: 'nodejs22.x',
        Handler: 'index.handler',
        Code: { S3Bucket: ref('CodeS3Bucket'), S3Key: ref('CodeS3Key') },
        Role: att('FunctionRole', 'Arn'),
        Timeout: 900,
        MemorySize: 1024,
        // At most one invocation per shard at a time.
        ReservedConcurrentExecutions: o.shards,
        FileSystemConfigs: [{ Arn: att('EscrowAccessPoint', 'Arn'), LocalMountPath: EFS_MOUNT }],
        VpcConfig: { SubnetIds: ref('SubnetIds'), SecurityGroupIds: ref('SecurityGroupIds') },
        Environment: {
          Variables: {
            CI: 'true',
            KMS_BYOK_FLEET: o.name,
            ...(o.command === 'reimport' ? { KMS_BYOK_IDENTITY_KEY: ref('IdentityKeyArn'), KMS_BYOK_IDENTITY_CIPHERTEXT: ref('IdentityCiphertext') } : {}),
          },
        },
      },
    },
    FunctionResults: {
      Type: 'AWS::Lambda::EventInvokeConfig',
      Properties: {
        FunctionName: ref('Function'),
        Qualifier: '$LATEST',
        MaximumRetryAttempts: 0,
        DestinationConfig: { OnSuccess: { Destination: ref('ResultsTopic') }, OnFailure: { Destination: ref('ResultsTopic') } },
      },
    },
    SchedulerRole: {
      Type: 'AWS::IAM::Role',
      Properties: {
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { Service: 'scheduler.amazonaws.com' }, Action: 'sts:AssumeRole', Condition: { StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') } } }],
        },
        Policies: [{ PolicyName: 'invoke', PolicyDocument: { Version: '2012-10-17', Statement: [{ Sid: 'InvokeFleetFunction', Effect: 'Allow', Action: ['lambda:InvokeFunction'], Resource: att('Function', 'Arn') }] } }],
      },
    },
  };
  for (let k = 0; k < o.shards; k++) {
    const input = { command: o.command, plan: planOnEfs, shard: `${k}/${o.shards}`, ...(o.command === 'reimport' ? { before: o.before } : {}) };
    resources[`Shard${k}Schedule`] = {
      Type: 'AWS::Scheduler::Schedule',
      Properties: {
        Name: `${o.name}-shard-${k}-of-${o.shards}`,
        Description: `kms-byok ${o.command} --plan --shard ${k}/${o.shards}`,
        ScheduleExpression: schedule,
        ScheduleExpressionTimezone: 'Etc/UTC',
        FlexibleTimeWindow: { Mode: 'OFF' },
        State: 'ENABLED',
        Target: { Arn: att('Function', 'Arn'), RoleArn: att('SchedulerRole', 'Arn'), Input: JSON.stringify(input), RetryPolicy: { MaximumRetryAttempts: 0 } },
      },
    };
  }
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: `kms-byok ${o.command} of ${o.plan.file} in ${o.shards} shard(s) by quota domain (printed by kms-byok schedule --print eventbridge)`,
    Parameters: parameters,
    Resources: resources,
    Outputs: {
      ResultsTopicArn: { Value: ref('ResultsTopic'), Description: 'subscribe to receive each shard run\'s JSON result' },
      FunctionArn: { Value: att('Function', 'Arn') },
    },
  };
}
