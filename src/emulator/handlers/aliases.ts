/**
 * Alias operations: CreateAlias, UpdateAlias, DeleteAlias, ListAliases.
 *
 * Contracts (AWS KMS API reference):
 * - AliasName is 1–256 characters of `[a-zA-Z0-9:/_-]` (ValidationException otherwise), must begin with
 *   `alias/` (ValidationException, AWS's wording) and must not begin with `alias/aws/`, which is
 *   reserved for AWS managed keys (NotAuthorizedException).
 * - Aliases live per Region; an existing name is AlreadyExistsException; targets are key ids or key
 *   ARNs of the same Region, and a target pending deletion is KMSInvalidStateException.
 * - ListAliases returns every alias of the Region, or only those of KeyId, with Limit/Marker paging.
 */
import { seconds, type HandlerContext } from '../context.js';
import type { Handler } from '../context.js';
import { fail } from '../errors.js';
import { str, type Input } from '../input.js';
import { requireNotPendingDeletion } from '../lifecycle.js';
import { aliasArn, regionOf } from '../lookup.js';
import { type AliasRecord, type KeyRecord } from '../state.js';
import { pageOf, readKeyId } from './keys.js';

const ALIAS_PATTERN = /^[a-zA-Z0-9:/_-]+$/;

function readAliasName(input: Input): string {
  const name = str(input, 'AliasName', { required: true, max: 256, pattern: ALIAS_PATTERN });
  if (!name.startsWith('alias/') || name.length === 'alias/'.length) {
    throw fail('ValidationException', 'Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html');
  }
  return name;
}

function requireCustomerAlias(ctx: HandlerContext, name: string): void {
  if (name.startsWith('alias/aws/')) {
    throw fail('NotAuthorizedException', `Cannot create or modify ${aliasArn(ctx.region, ctx.accountId, name)}: the alias/aws/ prefix is reserved for AWS managed keys.`);
  }
}

function readTarget(ctx: HandlerContext, input: Input): KeyRecord {
  const key = readKeyId(ctx, input, 'TargetKeyId');
  requireNotPendingDeletion(key);
  return key;
}

export const createAlias: Handler = (ctx, input) => {
  const name = readAliasName(input);
  requireCustomerAlias(ctx, name);
  const key = readTarget(ctx, input);
  const aliases = regionOf(ctx).aliases;
  if (Object.hasOwn(aliases, name)) throw fail('AlreadyExistsException', `An alias with the name ${aliasArn(ctx.region, ctx.accountId, name)} already exists`);
  const now = ctx.clock.now().getTime();
  aliases[name] = { aliasName: name, targetKeyId: key.keyId, creationDate: now, lastUpdatedDate: now };
  return {};
};

export const updateAlias: Handler = (ctx, input) => {
  const name = readAliasName(input);
  requireCustomerAlias(ctx, name);
  const aliases = regionOf(ctx).aliases;
  const alias = Object.hasOwn(aliases, name) ? aliases[name] : undefined;
  if (!alias) throw fail('NotFoundException', `Alias ${aliasArn(ctx.region, ctx.accountId, name)} is not found.`);
  const key = readTarget(ctx, input);
  alias.targetKeyId = key.keyId;
  alias.lastUpdatedDate = ctx.clock.now().getTime();
  return {};
};

export const deleteAlias: Handler = (ctx, input) => {
  const name = readAliasName(input);
  requireCustomerAlias(ctx, name);
  const aliases = regionOf(ctx).aliases;
  if (!Object.hasOwn(aliases, name)) throw fail('NotFoundException', `Alias ${aliasArn(ctx.region, ctx.accountId, name)} is not found.`);
  delete aliases[name];
  return {};
};

function entry(ctx: HandlerContext, a: AliasRecord): Record<string, unknown> {
  return {
    AliasName: a.aliasName,
    AliasArn: aliasArn(ctx.region, ctx.accountId, a.aliasName),
    TargetKeyId: a.targetKeyId,
    CreationDate: seconds(a.creationDate),
    LastUpdatedDate: seconds(a.lastUpdatedDate),
  };
}

export const listAliases: Handler = (ctx, input) => {
  let aliases = Object.values(regionOf(ctx).aliases);
  if (input.KeyId !== undefined && input.KeyId !== null) {
    const key = readKeyId(ctx, input);
    aliases = aliases.filter((a) => a.targetKeyId === key.keyId);
  }
  aliases.sort((a, b) => (a.aliasName < b.aliasName ? -1 : a.aliasName > b.aliasName ? 1 : 0));
  const { page, more } = pageOf(aliases, input);
  return { Aliases: page.map((a) => entry(ctx, a)), ...more };
};
