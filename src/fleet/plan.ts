/**
 * Fleet plans (docs/fleet.md): a JSON file listing keys with their account (profile), Region, escrow,
 * expiry policy and custodian identity source. Pure: the caller passes the plan text and a function
 * that says whether a file exists, so the whole plan is validated — every problem listed at once —
 * before any request is sent.
 *
 * ```json
 * { "version": 1,
 *   "defaults": { "region": "eu-west-1", "escrowDir": "escrow", "expiresIn": "90d", "identity": "custodian.txt" },
 *   "keys": [ { "key": "1234abcd-…", "region": "us-east-1" }, { "key": "alias/payments", "profile": "prod" } ] }
 * ```
 * Paths are relative to the plan file's directory.
 *
 * Cross-account roles (docs/fleet.md "Accounts and roles"): an entry, the `defaults`, or an account's
 * group in `"accounts": { "222222222222": { "roleArn": …, "externalId": … } }` may name `roleArn`,
 * `externalId`, `sessionName` and `durationSeconds` (900–43200); an entry's `account` picks its
 * group. Precedence: entry, then its account's group, then `defaults`. The account an entry expects
 * is its `account`, else its role ARN's; the run checks it against the identity the role gives.
 */
import { KmsByokError } from '../core/errors.js';
import { isAccountId, isExternalId, isRoleSessionName, parseRoleArn, regionProblem, parseKeyArn } from '../core/aws-ids.js';
import { MAX_VALID_TO_DAYS } from '../core/aws-names.js';
import { parseDuration, parseIsoTime } from '../core/time.js';
import type { ExpiryChoice } from '../ceremony/onboard.js';

const DAY_MS = 86_400_000;

/** One resolved plan entry: every default applied, paths absolute. */
export interface PlanEntry {
  /** Position in the plan (0-based), stable across runs: the run state is keyed by it and `id`. */
  index: number;
  /** `profile/region/key`, unique in a plan. */
  id: string;
  key: string;
  region: string;
  profile?: string;
  /** Escrow directory (absolute); `escrow` names one file in it when given. */
  escrowDir: string;
  escrow?: string;
  /** Expiry of re-imported material; undefined when the plan gives no policy (status-only plans). */
  expiry?: ExpiryChoice;
  warnDays: number;
  maxAgeMs?: number;
  /** Custodian identity sources (absolute paths): age identity files and/or a passphrase file. */
  identities: string[];
  passphraseFile?: string;
  /** The role whose credentials act for this entry (STS AssumeRole), when the plan names one. */
  role?: PlanRole;
  /** The account the entry's key is in, as the plan says it (`account`, else the role ARN's). */
  account?: string;
}

/** A cross-account role of a plan: what STS AssumeRole is called with. */
export interface PlanRole {
  roleArn: string;
  externalId?: string;
  sessionName?: string;
  /** 900–43200; STS's default (3600) when absent. */
  durationSeconds?: number;
}

export interface Plan {
  entries: PlanEntry[];
}

const ROLE_FIELDS = ['roleArn', 'externalId', 'sessionName', 'durationSeconds'] as const;
const ENTRY_FIELDS = ['key', 'region', 'profile', 'escrowDir', 'escrow', 'expiresIn', 'validTo', 'noExpiry', 'warnDays', 'maxAge', 'identity', 'passphraseFile', 'account', ...ROLE_FIELDS] as const;
const DEFAULT_FIELDS = ENTRY_FIELDS.filter((f) => f !== 'key' && f !== 'escrow');
const ACCOUNT_FIELDS = DEFAULT_FIELDS.filter((f) => f !== 'account');
const TOP_FIELDS = ['version', 'defaults', 'accounts', 'keys'];
const EXPIRY_FIELDS = ['expiresIn', 'validTo', 'noExpiry'];

export interface PlanContext {
  /** Directory paths are relative to (the plan file's). */
  baseDir: string;
  /** Whether a file or directory exists. */
  exists: (path: string) => boolean;
  now: Date;
  /** Joins `base` and a relative path (node:path's resolve; injected to keep this module pure). */
  resolvePath: (base: string, path: string) => string;
}

type Raw = Record<string, unknown>;

function isObject(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parses and validates a plan. Every problem is collected; when there is any, one `ERR_PLAN_INVALID`
 * error lists them all (message: the count; `problems`: one line each).
 * @throws KmsByokError ERR_PLAN_INVALID
 */
export function parsePlan(text: string, ctx: PlanContext): Plan {
  const problems: string[] = [];
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw planError([`not JSON: ${e instanceof Error ? e.message : String(e)}`]);
  }
  if (!isObject(doc)) throw planError(['the plan must be a JSON object with "version": 1 and "keys": [...]']);
  for (const k of Object.keys(doc)) if (!TOP_FIELDS.includes(k)) problems.push(`unknown field "${k}" (known: ${TOP_FIELDS.join(', ')})`);
  if (doc.version !== 1) problems.push(`"version" must be 1, not ${JSON.stringify(doc.version)} (the plan's top level: { "version": 1, "defaults": {…}, "keys": [ … ] }; docs/fleet.md)`);
  let defaults: Raw = {};
  if (doc.defaults !== undefined) {
    if (!isObject(doc.defaults)) problems.push('"defaults" must be an object');
    else {
      defaults = doc.defaults;
      for (const k of Object.keys(defaults)) {
        if (!(DEFAULT_FIELDS as readonly string[]).includes(k)) problems.push(`defaults: unknown field "${k}" (known: ${DEFAULT_FIELDS.join(', ')})`);
      }
    }
  }
  const groups: Record<string, Raw> = {};
  if (doc.accounts !== undefined) {
    if (!isObject(doc.accounts)) problems.push('"accounts" must be an object: { "ACCOUNT_ID": { "roleArn": … } }');
    else {
      for (const [id, group] of Object.entries(doc.accounts)) {
        if (!isAccountId(id)) problems.push(`accounts: "${id}" is not a 12-digit account id`);
        else if (!isObject(group)) problems.push(`accounts.${id}: must be an object of defaults for that account's entries`);
        else {
          for (const k of Object.keys(group)) {
            if (!(ACCOUNT_FIELDS as readonly string[]).includes(k)) problems.push(`accounts.${id}: unknown field "${k}" (known: ${ACCOUNT_FIELDS.join(', ')})`);
          }
          groups[id] = group;
        }
      }
    }
  }
  if (!Array.isArray(doc.keys)) {
    problems.push('"keys" must be an array of entries');
    throw planError(problems);
  }
  if (doc.keys.length === 0) problems.push('"keys" is empty: nothing to do');
  const entries: PlanEntry[] = [];
  const seen = new Map<string, number>();
  doc.keys.forEach((raw: unknown, index: number) => {
    const where = `keys[${index}]`;
    if (!isObject(raw)) {
      problems.push(`${where}: must be an object with at least "key"`);
      return;
    }
    for (const k of Object.keys(raw)) {
      if (!(ENTRY_FIELDS as readonly string[]).includes(k)) problems.push(`${where}: unknown field "${k}" (known: ${ENTRY_FIELDS.join(', ')})`);
    }
    // The entry's account picks its group of defaults: named, else its key ARN's, else the defaults'.
    const keyAccount = typeof raw.key === 'string' ? parseKeyArn(raw.key)?.accountId : undefined;
    const account = typeof raw.account === 'string' ? raw.account : (keyAccount ?? (typeof defaults.account === 'string' ? defaults.account : undefined));
    const group = account !== undefined && Object.hasOwn(groups, account) ? groups[account]! : {};
    // A layer's own expiry choice replaces the layers' below it (of whichever kind).
    const withoutExpiry = (r: Raw): Raw => Object.fromEntries(Object.entries(r).filter(([k]) => !EXPIRY_FIELDS.includes(k)));
    const hasExpiry = (r: Raw): boolean => EXPIRY_FIELDS.some((f) => r[f] !== undefined);
    let merged: Raw = defaults;
    merged = { ...(hasExpiry(group) ? withoutExpiry(merged) : merged), ...group };
    merged = { ...(hasExpiry(raw) ? withoutExpiry(merged) : merged), ...raw };
    if (account !== undefined && merged.account === undefined && Object.hasOwn(groups, account)) merged.account = account;
    const e = resolveEntry(merged, index, where, ctx, problems, raw);
    if (e) {
      const other = seen.get(e.id);
      if (other !== undefined) problems.push(`${where}: duplicate key ${e.key} in ${e.region}${e.profile ? ` (profile ${e.profile})` : ''}${e.account ? ` (account ${e.account})` : ''}: also keys[${other}]`);
      else seen.set(e.id, index);
      entries.push(e);
    }
  });
  if (problems.length > 0) throw planError(problems);
  return { entries };
}

function planError(problems: string[]): KmsByokError & { problems: string[] } {
  const err = new KmsByokError('ERR_PLAN_INVALID', `the plan has ${problems.length} problem${problems.length === 1 ? '' : 's'}: nothing was sent to KMS`, {
    hint: 'fix every listed problem and run again',
  }) as KmsByokError & { problems: string[] };
  err.problems = problems;
  return err;
}

function optString(v: Raw, name: string, where: string, problems: string[]): string | undefined {
  const x = v[name];
  if (x === undefined) return undefined;
  if (typeof x !== 'string' || x.trim() === '') {
    problems.push(`${where}: "${name}" must be a non-empty string`);
    return undefined;
  }
  return x;
}

function captured<T>(problems: string[], where: string, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    problems.push(`${where}: ${e instanceof Error ? e.message : String(e)}`);
    return undefined;
  }
}

function resolveEntry(v: Raw, index: number, where: string, ctx: PlanContext, problems: string[], own: Raw): PlanEntry | undefined {
  const key = optString(v, 'key', where, problems);
  if (key === undefined && own.key === undefined) problems.push(`${where}: missing "key" (a key id, ARN or alias/NAME)`);
  const region = optString(v, 'region', where, problems);
  const arnRegion = key ? parseKeyArn(key)?.region : undefined;
  // An ARN names its Region: it wins over the defaults' region, and an entry's own must agree.
  const effectiveRegion = arnRegion ?? region;
  if (effectiveRegion === undefined) problems.push(`${where}: missing "region" (in the entry or in "defaults")`);
  else if (regionProblem(effectiveRegion) !== undefined) problems.push(`${where}: "region" ${JSON.stringify(effectiveRegion)} ${regionProblem(effectiveRegion)!}`);
  else if (arnRegion !== undefined && typeof own.region === 'string' && arnRegion !== own.region) problems.push(`${where}: the key ARN is in ${arnRegion}, not ${own.region}`);
  const profile = optString(v, 'profile', where, problems);

  const escrowDirRaw = optString(v, 'escrowDir', where, problems) ?? 'escrow';
  const escrowDir = ctx.resolvePath(ctx.baseDir, escrowDirRaw);
  const escrowRaw = optString(v, 'escrow', where, problems);
  const escrow = escrowRaw === undefined ? undefined : ctx.resolvePath(escrowDir, escrowRaw);
  if (escrow !== undefined && !ctx.exists(escrow)) problems.push(`${where}: escrow file ${escrow} does not exist`);
  else if (escrow === undefined && !ctx.exists(escrowDir)) problems.push(`${where}: escrow directory ${escrowDir} does not exist`);

  // Expiry policy: at most one of expiresIn / validTo / noExpiry, as AWS would accept it.
  const expiresIn = optString(v, 'expiresIn', where, problems);
  const validTo = optString(v, 'validTo', where, problems);
  const noExpiry = v.noExpiry;
  if (noExpiry !== undefined && typeof noExpiry !== 'boolean') problems.push(`${where}: "noExpiry" must be true or false`);
  const choices = [expiresIn !== undefined, validTo !== undefined, noExpiry === true].filter(Boolean).length;
  let expiry: ExpiryChoice | undefined;
  if (choices > 1) {
    problems.push(`${where}: give only one of "expiresIn", "validTo" and "noExpiry"`);
  } else if (noExpiry === true) expiry = { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' };
  else if (expiresIn !== undefined) {
    const ms = captured(problems, where, () => parseDuration(expiresIn, '"expiresIn"'));
    if (ms !== undefined && ms > MAX_VALID_TO_DAYS * DAY_MS) problems.push(`${where}: "expiresIn" ${expiresIn} is more than ${MAX_VALID_TO_DAYS} days: AWS rejects a ValidTo further ahead`);
    else if (ms !== undefined) expiry = { ExpirationModel: 'KEY_MATERIAL_EXPIRES', expiresInMs: ms };
  } else if (validTo !== undefined) {
    const t = captured(problems, where, () => parseIsoTime(validTo, '"validTo"'));
    if (t !== undefined) {
      if (t.getTime() <= ctx.now.getTime()) problems.push(`${where}: "validTo" ${validTo} is in the past: AWS rejects it`);
      else if (t.getTime() > ctx.now.getTime() + MAX_VALID_TO_DAYS * DAY_MS) problems.push(`${where}: "validTo" ${validTo} is more than ${MAX_VALID_TO_DAYS} days ahead: AWS rejects it`);
      else expiry = { ExpirationModel: 'KEY_MATERIAL_EXPIRES', validTo: t };
    }
  }

  let warnDays = 30;
  if (v.warnDays !== undefined) {
    if (typeof v.warnDays !== 'number' || !Number.isInteger(v.warnDays) || v.warnDays < 0 || v.warnDays > 9999) problems.push(`${where}: "warnDays" must be a whole number of days (0–9999)`);
    else warnDays = v.warnDays;
  }
  const maxAge = optString(v, 'maxAge', where, problems);
  const maxAgeMs = maxAge === undefined ? undefined : captured(problems, where, () => parseDuration(maxAge, '"maxAge"'));

  const identities: string[] = [];
  const identity = v.identity;
  if (identity !== undefined) {
    const list = Array.isArray(identity) ? identity : [identity];
    for (const i of list) {
      if (typeof i !== 'string' || i === '') problems.push(`${where}: "identity" must be a file path or a list of them`);
      else {
        const path = ctx.resolvePath(ctx.baseDir, i);
        if (!ctx.exists(path)) problems.push(`${where}: identity file ${path} does not exist`);
        identities.push(path);
      }
    }
  }
  const passRaw = optString(v, 'passphraseFile', where, problems);
  const passphraseFile = passRaw === undefined ? undefined : ctx.resolvePath(ctx.baseDir, passRaw);
  if (passphraseFile !== undefined && !ctx.exists(passphraseFile)) problems.push(`${where}: passphrase file ${passphraseFile} does not exist`);

  const { role, account } = resolveRole(v, where, problems, key);

  if (key === undefined || effectiveRegion === undefined) return undefined;
  // Entries of an account are told apart from another account's (the same alias in two accounts).
  const principal = `${profile ?? ''}${account !== undefined ? `@${account}` : ''}`;
  const entry: PlanEntry = { index, id: `${principal}/${effectiveRegion}/${key}`, key, region: effectiveRegion, escrowDir, warnDays, identities };
  if (role !== undefined) entry.role = role;
  if (account !== undefined) entry.account = account;
  if (profile !== undefined) entry.profile = profile;
  if (escrow !== undefined) entry.escrow = escrow;
  if (expiry !== undefined) entry.expiry = expiry;
  if (maxAgeMs !== undefined) entry.maxAgeMs = maxAgeMs;
  if (passphraseFile !== undefined) entry.passphraseFile = passphraseFile;
  return entry;
}

/** The entry's role and expected account, every problem with them collected. */
function resolveRole(v: Raw, where: string, problems: string[], key: string | undefined): { role?: PlanRole; account?: string } {
  const account = optString(v, 'account', where, problems);
  if (account !== undefined && !isAccountId(account)) problems.push(`${where}: "account" ${JSON.stringify(account)} is not a 12-digit account id`);
  const keyAccount = key ? parseKeyArn(key)?.accountId : undefined;
  if (account !== undefined && keyAccount !== undefined && keyAccount !== account) problems.push(`${where}: the key ARN is in account ${keyAccount}, not ${account}`);
  const roleArn = optString(v, 'roleArn', where, problems);
  const parsed = roleArn === undefined ? undefined : parseRoleArn(roleArn);
  if (roleArn !== undefined && parsed === undefined) problems.push(`${where}: "roleArn" ${JSON.stringify(roleArn)} is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)`);
  const externalId = optString(v, 'externalId', where, problems);
  if (externalId !== undefined && !isExternalId(externalId)) problems.push(`${where}: "externalId" must be 2 to 1224 characters of letters, digits and +=,.@:/-`);
  const sessionName = optString(v, 'sessionName', where, problems);
  if (sessionName !== undefined && !isRoleSessionName(sessionName)) problems.push(`${where}: "sessionName" must be 2 to 64 characters of letters, digits and +=,.@-`);
  const d = v.durationSeconds;
  if (d !== undefined && (typeof d !== 'number' || !Number.isInteger(d) || d < 900 || d > 43200)) problems.push(`${where}: "durationSeconds" must be a whole number of seconds from 900 to 43200`);
  if (roleArn === undefined) {
    for (const f of ['externalId', 'sessionName', 'durationSeconds']) if (v[f] !== undefined) problems.push(`${where}: "${f}" needs a "roleArn"`);
  }
  if (parsed === undefined) return account !== undefined && isAccountId(account) ? { account } : {};
  const role: PlanRole = { roleArn: roleArn! };
  if (externalId !== undefined) role.externalId = externalId;
  if (sessionName !== undefined) role.sessionName = sessionName;
  if (typeof d === 'number' && Number.isInteger(d) && d >= 900 && d <= 43200) role.durationSeconds = d;
  return { role, account: account !== undefined && isAccountId(account) ? account : parsed.accountId };
}

/**
 * What a command needs from every entry, checked after parsing (still before any request):
 * re-import and restore need an expiry policy and an identity source (unless the caller brings one:
 * `identityGiven`, the Lambda handler's decrypted identity); status needs neither.
 */
export function requireForCommand(plan: Plan, command: 'reimport' | 'restore' | 'status', identityGiven = false): void {
  if (command === 'status') return;
  const problems: string[] = [];
  for (const e of plan.entries) {
    if (e.expiry === undefined) problems.push(`keys[${e.index}]: ${command} needs an expiry policy ("expiresIn", "validTo" or "noExpiry")`);
    if (!identityGiven && e.identities.length === 0 && e.passphraseFile === undefined) problems.push(`keys[${e.index}]: ${command} needs a custodian identity source ("identity" or "passphraseFile")`);
  }
  if (problems.length > 0) throw planError(problems);
}

/** The problems of a plan error (one line each), or undefined for any other error. */
export function planProblems(e: unknown): string[] | undefined {
  return e instanceof KmsByokError && e.code === 'ERR_PLAN_INVALID' ? (e as KmsByokError & { problems?: string[] }).problems : undefined;
}
