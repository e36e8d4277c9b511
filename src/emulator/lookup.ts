/**
 * Key and alias identifiers: ARNs, and resolving what a request names to a key of the caller's Region.
 *
 * Contract: {@link resolveKey} accepts a key id or key ARN, and — only where the operation allows it —
 * an alias name (`alias/x`) or alias ARN. ARNs of another Region or account name no key here
 * (`NotFoundException`), malformed ARNs are `InvalidArnException`, and unknown names are
 * `NotFoundException` worded as AWS words it.
 */
import { fail } from './errors.js';
import type { HandlerContext } from './context.js';
import { accountRegions, regionState, type KeyRecord, type RegionState } from './state.js';

/** The part of the state of the request's account in `region` (default: the request's Region). */
export function regionOf(ctx: HandlerContext, region: string = ctx.region): RegionState {
  return regionState(ctx.state, region, ctx.accountId === ctx.homeAccountId ? undefined : ctx.accountId);
}

/** `arn:aws:kms:<region>:<account>:key/<key id>` */
export function keyArn(key: Pick<KeyRecord, 'region' | 'accountId' | 'keyId'>): string {
  return `arn:aws:kms:${key.region}:${key.accountId}:key/${key.keyId}`;
}

/** `arn:aws:kms:<region>:<account>:alias/<name>` for `aliasName` = `alias/<name>`. */
export function aliasArn(region: string, accountId: string, aliasName: string): string {
  return `arn:aws:kms:${region}:${accountId}:${aliasName}`;
}

const ARN = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):(key|alias)\/(.+)$/;

/** The key (of the caller's Region) that `id` names. */
export function resolveKey(ctx: HandlerContext, id: string, options: { allowAlias?: boolean } = {}): KeyRecord {
  const region = regionOf(ctx);
  let keyId = id;
  let aliasName: string | undefined;
  if (id.startsWith('arn:')) {
    const m = ARN.exec(id);
    if (!m) throw fail('InvalidArnException', `Invalid arn ${id}`);
    const [, arnRegion, account, kind, rest] = m as unknown as [string, string, string, string, string];
    if (arnRegion !== ctx.region || account !== ctx.accountId) {
      throw fail('NotFoundException', kind === 'key' ? `Key '${id}' does not exist` : `Alias ${id} is not found.`);
    }
    if (kind === 'key') keyId = rest;
    else aliasName = `alias/${rest}`;
  } else if (id.startsWith('alias/')) {
    aliasName = id;
  }
  if (aliasName !== undefined) {
    const shown = aliasArn(ctx.region, ctx.accountId, aliasName);
    if (!options.allowAlias) throw fail('NotFoundException', `Alias ${shown} is not found.`);
    const alias = Object.hasOwn(region.aliases, aliasName) ? region.aliases[aliasName] : undefined;
    if (!alias) throw fail('NotFoundException', `Alias ${shown} is not found.`);
    keyId = alias.targetKeyId;
  }
  // Own properties only: a key id such as `constructor` must not reach Object's prototype.
  const key = Object.hasOwn(region.keys, keyId) ? region.keys[keyId] : undefined;
  if (!key) throw fail('NotFoundException', `Key '${keyArn({ region: ctx.region, accountId: ctx.accountId, keyId })}' does not exist`);
  return key;
}

/** Every key of the request's account, in any Region, that shares `keyId` (the related keys of a multi-Region key). */
export function relatedKeys(ctx: HandlerContext, keyId: string): KeyRecord[] {
  const out: KeyRecord[] = [];
  for (const r of Object.values(accountRegions(ctx.state, ctx.accountId === ctx.homeAccountId ? undefined : ctx.accountId))) {
    const k = Object.hasOwn(r.keys, keyId) ? r.keys[keyId] : undefined;
    if (k) out.push(k);
  }
  return out;
}
