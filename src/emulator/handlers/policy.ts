/**
 * Key policies: GetKeyPolicy, PutKeyPolicy, and the checks CreateKey shares. KMS refuses a policy
 * that is not a JSON policy document (MalformedPolicyDocumentException), and — unless
 * BypassPolicyLockoutSafetyCheck is set — one that would stop the caller from changing the policy
 * later (the "policy lockout safety check"). The emulator cannot evaluate IAM, so it approximates
 * that check the way AWS's default policy satisfies it: some Allow statement must grant `kms:*` or
 * `kms:PutKeyPolicy` to the account (its root ARN, its id, or `*`).
 */
import type { Handler } from '../context.js';
import { fail } from '../errors.js';
import { bool, str, type Input } from '../input.js';
import { resolveKey } from '../lookup.js';

const LOCKOUT = 'The new key policy will not allow you to update the key policy in the future.';

function asList(v: unknown): unknown[] {
  return Array.isArray(v) ? v : v === undefined ? [] : [v];
}

/** True when a statement lets the account itself change the policy later. */
function keepsAccountInControl(statement: Record<string, unknown>, accountId: string): boolean {
  if (statement.Effect !== 'Allow' || statement.Condition !== undefined) return false;
  const actions = asList(statement.Action).map(String);
  if (!actions.some((a) => a === 'kms:*' || a === '*' || a.toLowerCase() === 'kms:putkeypolicy')) return false;
  const principal = statement.Principal;
  if (principal === '*') return true;
  const aws = asList((principal as { AWS?: unknown } | undefined)?.AWS).map(String);
  return aws.some((p) => p === '*' || p === accountId || p === `arn:aws:iam::${accountId}:root`);
}

/**
 * Reads and checks `Policy` (JSON text, at most 32 KiB): a policy document object with a Statement
 * list, each with Effect and Action; the lockout check unless bypassed.
 */
export function readPolicy(input: Input, accountId: string): string | undefined {
  const policy = str(input, 'Policy', { min: 1, max: 32768 });
  const bypass = bool(input, 'BypassPolicyLockoutSafetyCheck') ?? false;
  if (policy === undefined) return undefined;
  let doc: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(policy);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    doc = parsed as Record<string, unknown>;
  } catch {
    throw fail('MalformedPolicyDocumentException', 'The key policy is not a valid JSON policy document.');
  }
  const statements = asList(doc.Statement);
  if (statements.length === 0 || statements.some((s) => typeof s !== 'object' || s === null || !['Allow', 'Deny'].includes(String((s as Record<string, unknown>).Effect)) || (s as Record<string, unknown>).Action === undefined)) {
    throw fail('MalformedPolicyDocumentException', 'The key policy must have statements, each with an Effect of Allow or Deny and an Action.');
  }
  if (!bypass && !statements.some((s) => keepsAccountInControl(s as Record<string, unknown>, accountId))) throw fail('MalformedPolicyDocumentException', LOCKOUT);
  return policy;
}

export const getKeyPolicy: Handler = (ctx, input) => {
  const key = resolveKey(ctx, str(input, 'KeyId', { required: true, max: 2048 }));
  const name = str(input, 'PolicyName', { min: 1, max: 128 }) ?? 'default';
  if (name !== 'default') throw fail('NotFoundException', `Policy ${name} is not found.`);
  return { Policy: key.policy, PolicyName: 'default' };
};

export const putKeyPolicy: Handler = (ctx, input) => {
  const key = resolveKey(ctx, str(input, 'KeyId', { required: true, max: 2048 }));
  const name = str(input, 'PolicyName', { min: 1, max: 128 }) ?? 'default';
  if (name !== 'default') throw fail('NotFoundException', `Policy ${name} is not found.`);
  const policy = readPolicy(input, ctx.accountId);
  if (policy === undefined) throw fail('ValidationException', "1 validation error detected: Value null at 'policy' failed to satisfy constraint: Member must not be null");
  key.policy = policy;
  return {};
};
