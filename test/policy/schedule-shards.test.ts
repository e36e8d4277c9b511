/**
 * Sharded schedules (docs/fleet.md, "Shards", "On Kubernetes", "On AWS"): the Kubernetes CronJob of
 * an Indexed Job (YAML parsed with the `yaml` package) and the EventBridge/Lambda CloudFormation
 * template (JSON). Every field the texts promise is checked, every Ref/GetAtt/Sub resolves, the
 * printed shard arguments are accepted by the real CLI, and the Lambda accepts each schedule's Input.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseEvent, identityContext } from '../../src/lambda/index.js';
import { eventBridgeCron } from '../../src/policy/cloudformation.js';
import { PROVE_WITHOUT_CONTEXT, schedulerKeyActions } from '../../src/policy/key-policy.js';
import { cli } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'kms-byok-shards-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, 'escrow'), { mode: 0o700 });
const IDENTITY = 'AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ';
writeFileSync(join(dir, 'alice.txt'), `${IDENTITY}\n`, { mode: 0o600 });
const KEYS = [
  { key: '1234abcd-12ab-34cd-56ef-1234567890ab', region: 'eu-west-1' },
  { key: '2234abcd-12ab-34cd-56ef-1234567890ab', region: 'eu-west-1', profile: 'prod' },
  { key: 'arn:aws:kms:us-east-1:111122223333:key/3234abcd-12ab-34cd-56ef-1234567890ab', region: 'us-east-1' },
  { key: 'alias/payments', region: 'ap-southeast-2' },
  { key: '5234abcd-12ab-34cd-56ef-1234567890ab', region: 'us-west-2', profile: 'prod' },
];
const PLAN = join(dir, 'fleet.json');
writeFileSync(PLAN, JSON.stringify({ version: 1, defaults: { escrowDir: 'escrow', identity: 'alice.txt', expiresIn: '90d' }, keys: KEYS }));

type Obj = Record<string, any>;

describe('schedule --print kubernetes --plan --shards N', () => {
  it('prints a CronJob of an Indexed Job: N pods, pod K runs --shard K/N, identity from a Secret, escrow from a volume', async () => {
    const r = await cli(['schedule', '--print', 'kubernetes', '--plan', PLAN, '--shards', '4', '--image', 'registry.example.com/kms-byok:0.1.0', '--name', 'fleet']);
    expect(r.code, r.stderr).toBe(0);
    const docs = r.stdout.split(/^---\n/m).filter((d) => d.trim() !== '');
    expect(docs).toHaveLength(1);
    const job = parseYaml(docs[0]!) as Obj;
    expect(job).toMatchObject({ apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'fleet' } });
    expect(job.metadata.annotations['kms-byok/shards']).toContain('fleet report');
    const spec = job.spec.jobTemplate.spec;
    expect(spec).toMatchObject({ completionMode: 'Indexed', completions: 4, parallelism: 4, backoffLimitPerIndex: 2 });
    expect(spec.backoffLimit).toBeUndefined();
    expect(spec.podFailurePolicy.rules).toEqual([{ action: 'FailJob', onExitCodes: { containerName: 'kms-byok', operator: 'In', values: [2] } }]);
    const pod = spec.template.spec;
    const c = pod.containers[0];
    expect(c.command).toEqual(['kms-byok']);
    expect(c.args).toEqual(['reimport', '--plan', PLAN, '--shard', '$(JOB_COMPLETION_INDEX)/4', '--before', '30d']);
    expect(c.env).toContainEqual({ name: 'JOB_COMPLETION_INDEX', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } } });
    expect(c.env).toContainEqual({ name: 'CI', value: 'true' });
    // The identity from a Secret (read-only, at its plan path); the plan's directory from a PVC.
    const secret = pod.volumes.find((v: Obj) => v.name === 'secret');
    expect(secret.secret).toMatchObject({ secretName: 'fleet-secrets', items: [{ key: 'secret-0', path: 'secret-0' }] });
    expect(c.volumeMounts).toContainEqual({ name: 'secret', mountPath: join(dir, 'alice.txt'), subPath: 'secret-0', readOnly: true });
    expect(pod.volumes.find((v: Obj) => v.name === 'escrow')).toEqual({ name: 'escrow', persistentVolumeClaim: { claimName: 'fleet-escrow' } });
    expect(c.volumeMounts).toContainEqual({ name: 'escrow', mountPath: dir });
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });

    // What each pod runs, $(JOB_COMPLETION_INDEX) expanded as Kubernetes does, is accepted by the CLI
    // and together the four pods cover every quota domain exactly once.
    const seen: string[] = [];
    for (let k = 0; k < 4; k++) {
      const args = (c.args as string[]).map((a) => a.replace('$(JOB_COMPLETION_INDEX)', String(k)));
      const dry = await cli([...args, '--dry-run', '--json']);
      expect(dry.code, dry.stderr).toBe(0);
      const d = JSON.parse(dry.stdout) as { shard: number; domains: { account: string; region: string; shard: number }[] };
      expect(d.shard).toBe(k);
      seen.push(...d.domains.filter((x) => x.shard === k).map((x) => `${x.account}/${x.region}`));
    }
    expect(seen.sort()).toEqual(['/ap-southeast-2', '/eu-west-1', '/us-east-1', 'prod/eu-west-1', 'prod/us-west-2']);
  });

  it('refuses --shards 0, a non-number, --shards with systemd or cron, and --shards without --plan (exit 2)', async () => {
    for (const [args, code] of [
      [['--print', 'kubernetes', '--plan', PLAN, '--shards', '0', '--image', 'x'], 'ERR_INVALID_ARGUMENT'],
      [['--print', 'kubernetes', '--plan', PLAN, '--shards', 'four', '--image', 'x'], 'ERR_INVALID_ARGUMENT'],
      [['--print', 'systemd', '--plan', PLAN, '--shards', '2'], 'ERR_USAGE'],
      [['--print', 'cron', '--plan', PLAN, '--shards', '2'], 'ERR_USAGE'],
      [['--print', 'kubernetes', '--key', 'alias/x', '--identity', '/etc/x', '--shards', '2', '--image', 'x'], 'ERR_MISSING_INPUT'],
      [['--print', 'eventbridge', '--key', 'alias/x'], 'ERR_MISSING_INPUT'],
    ] as [string[], string][]) {
      const r = await cli(['schedule', ...args]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(code);
    }
  });
});

/** Every Ref, Fn::GetAtt and ${X} of Fn::Sub in `node` names a parameter, resource or pseudo parameter. */
function unresolved(node: unknown, names: Set<string>, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const x of node) unresolved(x, names, out);
  else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'Ref' && typeof v === 'string' && !v.startsWith('AWS::') && !names.has(v)) out.push(v);
      else if (k === 'Fn::GetAtt' && !names.has((v as string[])[0]!)) out.push(String((v as string[])[0]));
      else if (k === 'Fn::Sub' && typeof v === 'string') for (const m of v.matchAll(/\$\{([^}]+)\}/g)) if (!m[1]!.startsWith('AWS::') && !names.has(m[1]!.split('.')[0]!)) out.push(m[1]!);
      unresolved(v, names, out);
    }
  }
  return out;
}

describe('schedule --print eventbridge --plan --shards N (CloudFormation, JSON)', () => {
  it('prints one schedule per shard invoking the function, EFS access point, encrypted identity, SNS results and least-privilege roles', async () => {
    const r = await cli(['schedule', '--print', 'eventbridge', '--plan', PLAN, '--shards', '3', '--name', 'payments-fleet', '--cron', '17 3 * * 1-5']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('AGE-SECRET-KEY'); // never the identity in the clear
    const t = JSON.parse(r.stdout) as Obj;
    expect(t.AWSTemplateFormatVersion).toBe('2010-09-09');
    const res = t.Resources as Obj;
    const names = new Set([...Object.keys(res), ...Object.keys(t.Parameters)]);
    expect(unresolved(t, names)).toEqual([]);
    const byType = (type: string) => Object.entries(res).filter(([, v]) => (v as Obj).Type === type);

    // Schedules: one per shard, each Input accepted by the handler.
    const schedules = byType('AWS::Scheduler::Schedule');
    expect(schedules).toHaveLength(3);
    const shards = schedules.map(([, s]) => {
      const p = (s as Obj).Properties;
      expect(p).toMatchObject({ ScheduleExpression: 'cron(17 3 ? * 2-6 *)', ScheduleExpressionTimezone: 'Etc/UTC', FlexibleTimeWindow: { Mode: 'OFF' }, State: 'ENABLED' });
      expect(p.Target.Arn).toEqual({ 'Fn::GetAtt': ['Function', 'Arn'] });
      expect(p.Target.RoleArn).toEqual({ 'Fn::GetAtt': ['SchedulerRole', 'Arn'] });
      const input = parseEvent(JSON.parse(p.Target.Input));
      expect(input).toMatchObject({ command: 'reimport', plan: '/mnt/kms-byok/fleet.json', before: '30d' });
      return input.shard;
    });
    expect(shards.sort()).toEqual(['0/3', '1/3', '2/3']);

    // The function: the package's handler, EFS through the access point, VPC from parameters.
    const fn = res.Function.Properties as Obj;
    expect(res.Function.Type).toBe('AWS::Lambda::Function');
    expect(fn).toMatchObject({ Handler: 'index.handler', Runtime: expect.stringMatching(/^nodejs2\d\.x$/), Role: { 'Fn::GetAtt': ['FunctionRole', 'Arn'] } });
    expect(fn.FileSystemConfigs).toEqual([{ Arn: { 'Fn::GetAtt': ['EscrowAccessPoint', 'Arn'] }, LocalMountPath: '/mnt/kms-byok' }]);
    expect(fn.VpcConfig).toEqual({ SubnetIds: { Ref: 'SubnetIds' }, SecurityGroupIds: { Ref: 'SecurityGroupIds' } });
    expect(t.Parameters.SubnetIds.Type).toBe('List<AWS::EC2::Subnet::Id>');
    expect(t.Parameters.SecurityGroupIds.Type).toBe('List<AWS::EC2::SecurityGroup::Id>');
    const ap = res.EscrowAccessPoint as Obj;
    expect(ap.Type).toBe('AWS::EFS::AccessPoint');
    expect(ap.Properties).toMatchObject({ FileSystemId: { Ref: 'EscrowFileSystemId' }, PosixUser: { Uid: '10001', Gid: '10001' }, RootDirectory: { CreationInfo: { Permissions: '0700' } } });

    // The identity: a NoEcho ciphertext parameter, decrypted with the fleet's context.
    expect(t.Parameters.IdentityCiphertext).toMatchObject({ Type: 'String', NoEcho: true });
    expect(fn.Environment.Variables).toEqual({ CI: 'true', KMS_BYOK_FLEET: 'payments-fleet', KMS_BYOK_IDENTITY_KEY: { Ref: 'IdentityKeyArn' }, KMS_BYOK_IDENTITY_CIPHERTEXT: { Ref: 'IdentityCiphertext' } });
    const policies = new Map((res.FunctionRole.Properties.Policies as Obj[]).map((p) => [p.PolicyName, p.PolicyDocument.Statement as Obj[]]));
    const context = Object.fromEntries(Object.entries(identityContext('payments-fleet')).map(([k, v]) => [`kms:EncryptionContext:${k}`, v]));
    expect(policies.get('custodian-identity')).toEqual([{ Sid: 'DecryptIdentityWithFleetContext', Effect: 'Allow', Action: ['kms:Decrypt'], Resource: { Ref: 'IdentityKeyArn' }, Condition: { StringEquals: context } }]);

    // The fleet's keys only: ids as ARNs of the stack's account, ARNs as given, aliases by condition.
    const keys = policies.get('fleet-keys')!;
    const byArn = keys.find((s) => s.Sid === 'FleetKeys')!;
    expect(byArn.Action).toEqual(expect.arrayContaining(['kms:GetParametersForImport', 'kms:ImportKeyMaterial', 'kms:DescribeKey', 'kms:ListKeyRotations']));
    expect(byArn.Action).not.toContain('kms:*');
    expect(byArn.Resource).toEqual([
      { 'Fn::Sub': 'arn:${AWS::Partition}:kms:eu-west-1:${AWS::AccountId}:key/1234abcd-12ab-34cd-56ef-1234567890ab' },
      { 'Fn::Sub': 'arn:${AWS::Partition}:kms:eu-west-1:${AWS::AccountId}:key/2234abcd-12ab-34cd-56ef-1234567890ab' },
      'arn:aws:kms:us-east-1:111122223333:key/3234abcd-12ab-34cd-56ef-1234567890ab',
      { 'Fn::Sub': 'arn:${AWS::Partition}:kms:us-west-2:${AWS::AccountId}:key/5234abcd-12ab-34cd-56ef-1234567890ab' },
    ]);
    expect(keys.find((s) => s.Sid === 'FleetKeysByAlias')!.Condition).toEqual({ 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': ['alias/payments'] } });
    // The function role is the key policy's scheduler role (docs/custody.md, "Renewal seals"): no
    // TagResource, and Encrypt/Decrypt only without an encryption context (the import proof's).
    const keyActions = keys.flatMap((s) => [s.Action].flat());
    for (const a of ['kms:TagResource', 'kms:UntagResource', 'kms:ReEncryptFrom', 'kms:GenerateDataKey']) expect(keyActions).not.toContain(a);
    expect(new Set(keyActions)).toEqual(new Set([...schedulerKeyActions().import, ...schedulerKeyActions().proveOther, 'kms:Encrypt', 'kms:Decrypt', 'kms:ListAliases']));
    for (const s of keys.filter((x) => [x.Action].flat().some((a: string) => a === 'kms:Encrypt' || a === 'kms:Decrypt'))) {
      expect([s.Action].flat().sort()).toEqual(['kms:Decrypt', 'kms:Encrypt']);
      expect(s.Condition).toMatchObject(PROVE_WITHOUT_CONTEXT);
    }
    expect(keys.find((s) => s.Sid === 'FleetKeysByAliasProveWithoutContext')!.Condition).toEqual({ 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': ['alias/payments'] }, ...PROVE_WITHOUT_CONTEXT });
    for (const [, statements] of policies) for (const s of statements) for (const a of [s.Action].flat()) expect(a).not.toMatch(/\*$/);

    // Results to SNS: publish allowed on the topic only; the function's destinations are the topic.
    expect(res.ResultsTopic.Type).toBe('AWS::SNS::Topic');
    expect(policies.get('results')).toEqual([{ Sid: 'PublishResults', Effect: 'Allow', Action: ['sns:Publish'], Resource: { Ref: 'ResultsTopic' } }]);
    expect(res.FunctionResults.Properties.DestinationConfig).toEqual({ OnSuccess: { Destination: { Ref: 'ResultsTopic' } }, OnFailure: { Destination: { Ref: 'ResultsTopic' } } });
    expect(policies.get('escrow-volume')![0]!.Condition).toEqual({ StringEquals: { 'elasticfilesystem:AccessPointArn': { 'Fn::GetAtt': ['EscrowAccessPoint', 'Arn'] } } });
    // The scheduler may invoke this function and nothing else.
    expect(res.SchedulerRole.Properties.Policies[0].PolicyDocument.Statement).toEqual([{ Sid: 'InvokeFleetFunction', Effect: 'Allow', Action: ['lambda:InvokeFunction'], Resource: { 'Fn::GetAtt': ['Function', 'Arn'] } }]);
    expect(res.SchedulerRole.Properties.AssumeRolePolicyDocument.Statement[0].Principal).toEqual({ Service: 'scheduler.amazonaws.com' });
  });

  it('a status stack needs no identity: no identity key, ciphertext or decrypt permission, read-only key actions', async () => {
    const r = await cli(['schedule', '--print', 'eventbridge', '--command', 'status', '--plan', PLAN, '--name', 'fleet-status']);
    expect(r.code, r.stderr).toBe(0);
    const t = JSON.parse(r.stdout) as Obj;
    expect(t.Parameters.IdentityCiphertext).toBeUndefined();
    expect(t.Resources.Function.Properties.Environment.Variables).toEqual({ CI: 'true', KMS_BYOK_FLEET: 'fleet-status' });
    const statements = (t.Resources.FunctionRole.Properties.Policies as Obj[]).flatMap((p) => p.PolicyDocument.Statement as Obj[]);
    const actions = statements.flatMap((s) => [s.Action].flat());
    expect(actions).not.toContain('kms:ImportKeyMaterial');
    expect(actions).not.toContain('kms:Decrypt');
    expect(Object.values(t.Resources as Obj).filter((v: Obj) => v.Type === 'AWS::Scheduler::Schedule')).toHaveLength(1);
  });

  it('converts cron to EventBridge form and refuses what it cannot say', () => {
    expect(eventBridgeCron('17 3 * * *')).toBe('cron(17 3 * * ? *)');
    expect(eventBridgeCron('0 4 1 * *')).toBe('cron(0 4 1 * ? *)');
    expect(eventBridgeCron('0 4 * * 0,6')).toBe('cron(0 4 ? * 1,7 *)');
    expect(() => eventBridgeCron('0 4 1 * 1')).toThrow(/one/);
    expect(readFileSync(PLAN, 'utf8')).toContain('alias/payments');
  });
});
