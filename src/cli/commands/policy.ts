/**
 * `kms-byok policy`: prints a key policy with separation of duties for an EXTERNAL key (or, with
 * --identity custodian|reimport, the identity policy for that role). `--json` prints the policy
 * document itself, ready for `aws kms put-key-policy --policy file://…`; without it, a summary.
 */
import { ExitCode, KmsByokError } from '../../core/errors.js';
import { parseDuration, parseIsoTime } from '../../core/time.js';
import { KEY_SPECS, KEY_USAGES, type ExpirationModel, type KeySpec, type KeyUsage, type WrappingAlgorithm, type WrappingKeySpec } from '../../core/aws-names.js';
import { assertKeyUsageAllowed } from '../../material/key-specs.js';
import {
  MAX_VALID_TO_DAYS,
  buildIdentityPolicy,
  buildKeyPolicy,
  epochSeconds,
  type IdentityRole,
  type Partition,
  type PolicyDocument,
} from '../../policy/key-policy.js';
import { bool, str, strs, type Parsed } from '../args.js';
import { helpText, parseCommand } from '../command-spec.js';
import { POLICY } from '../specs/policy.js';
import { say, type Io } from '../io.js';
import { printJson } from '../render.js';


const DAY_MS = 86_400_000;

/** The `kms:ValidTo` bound: --valid-to-max, or now + --max-valid-to-days (default 365). */
function validToBound(p: Parsed, model: ExpirationModel, now: Date): Date | undefined {
  const at = str(p, 'valid-to-max');
  const days = str(p, 'max-valid-to-days');
  if (model === 'KEY_MATERIAL_DOES_NOT_EXPIRE') {
    if (at !== undefined || days !== undefined) {
      throw new KmsByokError('ERR_INVALID_COMBINATION', '--valid-to-max/--max-valid-to-days make no sense with --expiration-model KEY_MATERIAL_DOES_NOT_EXPIRE', {
        hint: 'imports that never expire carry no ValidTo; drop the bound',
      });
    }
    return undefined;
  }
  if (at !== undefined && days !== undefined) throw new KmsByokError('ERR_INVALID_COMBINATION', '--valid-to-max and --max-valid-to-days both given', { hint: 'give one bound' });
  if (at !== undefined) {
    const d = parseIsoTime(at, '--valid-to-max');
    if (d.getTime() <= now.getTime()) throw new KmsByokError('ERR_INVALID_VALID_TO', `--valid-to-max ${d.toISOString()} is in the past: no import could pass the policy`, { hint: 'give a future time' });
    return d;
  }
  const text = days ?? String(MAX_VALID_TO_DAYS);
  if (!/^\d{1,3}$/.test(text) || Number(text) < 1 || Number(text) > MAX_VALID_TO_DAYS) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `invalid --max-valid-to-days "${text}"`, { hint: `give whole days from 1 to ${MAX_VALID_TO_DAYS} (AWS's ValidTo limit)` });
  }
  void parseDuration(`${text}d`, '--max-valid-to-days');
  return new Date(Math.floor((now.getTime() + Number(text) * DAY_MS) / 1000) * 1000);
}

export async function policy(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(argv, POLICY, io.env);
  if (bool(p, 'help')) {
    io.stdout.write(helpText(POLICY));
    return ExitCode.ok;
  }
  if (p.positionals.length > 0) throw new KmsByokError('ERR_USAGE', `unexpected argument "${p.positionals[0]}"`, { hint: 'run kms-byok policy --help' });
  const account = str(p, 'account');
  if (account === undefined) throw new KmsByokError('ERR_MISSING_INPUT', 'missing --account: the 12-digit account that owns the key', { hint: 'pass --account 111122223333' });
  // A key spec and usage KMS would never pair (e.g. HMAC_256 with ENCRYPT_DECRYPT): no key can have the policy.
  const specText = str(p, 'key-spec');
  const usageText = str(p, 'key-usage');
  const spec = specText ?? 'SYMMETRIC_DEFAULT';
  if (usageText !== undefined && (KEY_SPECS as readonly string[]).includes(spec) && (KEY_USAGES as readonly string[]).includes(usageText)) {
    assertKeyUsageAllowed(spec as KeySpec, usageText as KeyUsage);
  }
  const model = (str(p, 'expiration-model') ?? 'KEY_MATERIAL_EXPIRES') as ExpirationModel;
  const now = new Date();
  const validToMax = validToBound(p, model, now);
  const common = {
    account,
    ...(str(p, 'partition') ? { partition: str(p, 'partition') as Partition } : {}),
    ...(str(p, 'key-spec') ? { keySpec: str(p, 'key-spec') as KeySpec } : {}),
    ...(str(p, 'key-usage') ? { keyUsage: str(p, 'key-usage') as KeyUsage } : {}),
    ...(strs(p, 'wrapping-algorithm').length ? { wrappingAlgorithms: strs(p, 'wrapping-algorithm') as WrappingAlgorithm[] } : {}),
    ...(strs(p, 'wrapping-key-spec').length ? { wrappingKeySpecs: strs(p, 'wrapping-key-spec') as WrappingKeySpec[] } : {}),
    expirationModel: model,
    ...(validToMax ? { validToMax } : {}),
    includeRoot: !bool(p, 'no-root'),
  };
  const role = str(p, 'identity');
  let doc: PolicyDocument;
  if (role !== undefined) {
    for (const f of ['custodian-role', 'reimport-role', 'scheduler-role', 'key-user', 'auditor']) {
      if (strs(p, f).length) throw new KmsByokError('ERR_INVALID_COMBINATION', `--${f} is for key policies, not --identity ${role}`, { hint: 'an identity policy is attached to the role itself: it names no principal' });
    }
    doc = buildIdentityPolicy({ ...common, role: role as IdentityRole, keyArns: strs(p, 'key-arn'), ...(str(p, 'region') ? { region: str(p, 'region')! } : {}) });
  } else {
    if (strs(p, 'key-arn').length || str(p, 'region') !== undefined) {
      throw new KmsByokError('ERR_INVALID_COMBINATION', '--key-arn and --region scope identity policies', { hint: 'add --identity custodian|reimport|scheduler, or drop them: a key policy is attached to its key' });
    }
    doc = buildKeyPolicy({
      ...common,
      custodians: strs(p, 'custodian-role'),
      reimportRoles: strs(p, 'reimport-role'),
      schedulerRoles: strs(p, 'scheduler-role'),
      keyUsers: strs(p, 'key-user'),
      auditors: strs(p, 'auditor'),
    });
  }
  if (validToMax) {
    say(io, 'note', `imports are allowed only with ValidTo <= ${validToMax.toISOString()} (kms:ValidTo ${epochSeconds(validToMax)})`);
    say(io, 'note', 'regenerate and re-apply the policy (with MFA) before a re-import would need a later ValidTo: with --expires-in 90d, 90 days before that bound');
  }
  if (bool(p, 'json')) {
    // The IAM policy document itself, for put-key-policy: no schemaVersion (docs/json.md, "Foreign documents").
    printJson(io, doc);
    return ExitCode.ok;
  }
  for (const s of doc.Statement) {
    const who = s.Principal ? (Array.isArray(s.Principal.AWS) ? s.Principal.AWS : [s.Principal.AWS]).join(', ') : '(the role this policy is attached to)';
    const actions = Array.isArray(s.Action) ? s.Action : [s.Action];
    io.stdout.write(`${s.Effect.padEnd(5)}  ${s.Sid}\n`);
    io.stdout.write(`       principals  ${who}\n`);
    io.stdout.write(`       actions     ${actions.join(', ')}\n`);
    if (s.Resource !== '*') io.stdout.write(`       resources   ${Array.isArray(s.Resource) ? s.Resource.join(', ') : s.Resource}\n`);
    for (const [op, kv] of Object.entries(s.Condition ?? {})) {
      for (const [k, v] of Object.entries(kv)) io.stdout.write(`       condition   ${op} ${k} = ${Array.isArray(v) ? v.join(' | ') : v}\n`);
    }
  }
  say(io, 'hint', 'add --json to print the policy document itself (docs/key-policy.md explains each statement)');
  return ExitCode.ok;
}
