/**
 * `kms-byok discover`: every Origin EXTERNAL key across accounts (reached through roles) and Regions,
 * each paired with its escrow, and a fleet plan of the escrowed ones (docs/fleet.md "Discovery").
 *
 * Contracts:
 * - Bad flags and an --accounts file that cannot be read are exit 2, before any request; so is a
 *   --write-plan path where something already is (the plan is created exclusively at the end).
 * - Each (account, Region) is read with the status ceremony (ListKeys, DescribeKey, ListKeyRotations,
 *   the sidecar of its latest escrow), its port paced by the fleet limiter at the documented quotas
 *   of that account and Region. One that cannot be read (a role STS refuses, an identity in another
 *   account, Organizations refused) is named in `unseen`; the others go on.
 * - Exit 1 when anything is unseen (the inventory is incomplete), else 3 when any key has no escrow
 *   or needs attention, else 0.
 */
import { lstatSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { isAccountId, isExternalId, isRegion, parseRoleArn } from '../../core/aws-ids.js';
import { ExitCode, KmsByokError } from '../../core/errors.js';
import { parseDuration } from '../../core/time.js';
import type { KeyStatus } from '../../ceremony/status.js';
import { RateLimiter, limitKms, resolveRates, type LimiterClock } from '../../fleet/limiter.js';
import { createExclusive, assertDirectorySafe } from '../../records/safe-files.js';
import { bool, str, type Parsed } from '../args.js';
import { helpText, parseCommand } from '../command-spec.js';
import { latestEscrow } from '../context.js';
import { printDocument } from '../documents.js';
import { say, type Io } from '../io.js';
import { DISCOVER } from '../specs/discover.js';
import { assertTargetChosen, openRegionalTargets, type AccountAccess } from '../target.js';

/** One account to search, and how it is reached. */
interface AccountPlan {
  accountId: string;
  /** Absent for the caller's own account (its own credentials). */
  role?: { roleArn: string; externalId?: string };
}

/** A discovered key, as the document and the table show it. */
export interface DiscoveredKey {
  accountId: string;
  region: string;
  keyId: string;
  keyArn: string;
  keyState: string;
  validTo?: string;
  daysLeft?: number;
  escrow?: { path: string; version?: number };
  noEscrow: boolean;
  unconfirmed: boolean;
  attention: string[];
}

/** Something discovery could not see, and why. */
export interface Unseen {
  accountId?: string;
  region?: string;
  roleArn?: string;
  scope: 'organization' | 'account' | 'region';
  code: string;
  message: string;
}

function usage(message: string, hint: string): KmsByokError {
  return new KmsByokError('ERR_USAGE', message, { hint });
}

function parseRegions(p: Parsed): string[] {
  const text = str(p, 'regions');
  if (text === undefined) throw new KmsByokError('ERR_MISSING_INPUT', 'discover needs --regions', { hint: 'e.g. --regions us-east-1,eu-west-1' });
  const regions = [...new Set(text.split(',').map((r) => r.trim()).filter(Boolean))];
  const bad = regions.filter((r) => !isRegion(r));
  if (regions.length === 0 || bad.length > 0) throw new KmsByokError('ERR_INVALID_ARGUMENT', `invalid --regions "${text}"${bad.length ? `: ${bad.join(', ')} is not a Region name` : ''}`, { hint: 'give AWS Region names separated by commas, e.g. us-east-1,eu-west-1' });
  return regions;
}

/** The role ARN for `account` from --role-name / --role-arn-template, or undefined when neither is given. */
function roleArnFor(p: Parsed): ((account: string) => string) | undefined {
  const name = str(p, 'role-name');
  const template = str(p, 'role-arn-template');
  if (name !== undefined && template !== undefined) throw usage('give --role-name or --role-arn-template, not both', 'the template spells the whole ARN with {account}');
  const make = name !== undefined ? (a: string) => `arn:aws:iam::${a}:role/${name}` : template !== undefined ? (a: string) => template.replaceAll('{account}', a) : undefined;
  if (make !== undefined && (parseRoleArn(make('123456789012')) === undefined || (template !== undefined && !template.includes('{account}')))) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', name !== undefined ? `invalid --role-name "${name}"` : `invalid --role-arn-template "${template}"`, {
      hint: 'a role name is up to 64 characters of letters, digits and +=,.@_-; a template is arn:aws:iam::{account}:role/NAME',
    });
  }
  return make;
}

/** Reads --accounts FILE: `ACCOUNT_ID [EXTERNAL_ID]` a line, `#` comments. Exit 2 on anything else. */
function readAccountsFile(io: Io, file: string): { accountId: string; externalId?: string }[] {
  let text: string;
  try {
    text = readFileSync(resolve(io.cwd, file), 'utf8');
  } catch (e) {
    throw new KmsByokError('ERR_FILE_READ', `cannot read --accounts ${file} (${(e as { code?: string }).code ?? 'error'})`, { hint: 'check the --accounts path' });
  }
  const out: { accountId: string; externalId?: string }[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    const [id, ext, extra] = line.split(/\s+/);
    if (!isAccountId(id!) || extra !== undefined || (ext !== undefined && !isExternalId(ext))) {
      throw new KmsByokError('ERR_INVALID_ARGUMENT', `--accounts ${file} line ${i + 1}: expected a 12-digit account id, optionally followed by an external id`, { hint: 'one account a line: 222222222222 [EXTERNAL_ID]; # starts a comment' });
    }
    if (!out.some((a) => a.accountId === id)) out.push({ accountId: id!, ...(ext !== undefined ? { externalId: ext } : {}) });
  });
  if (out.length === 0) throw new KmsByokError('ERR_INVALID_ARGUMENT', `--accounts ${file} names no account`, { hint: 'one 12-digit account id a line' });
  return out;
}

export async function discover(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(argv, DISCOVER, io.env);
  if (bool(p, 'help')) {
    io.stdout.write(helpText(DISCOVER));
    return ExitCode.ok;
  }
  if (p.positionals.length > 0) throw usage(`unexpected argument "${p.positionals[0]}"`, 'discover searches whole accounts and Regions: it takes no KEY');
  const regions = parseRegions(p);
  const escrowText = str(p, 'escrow-dir');
  if (escrowText === undefined) throw new KmsByokError('ERR_MISSING_INPUT', 'discover needs --escrow-dir', { hint: 'the directory where the keys\' escrows are (sidecars are read; no secret)' });
  const escrowDir = resolve(io.cwd, escrowText);
  const accountsFile = str(p, 'accounts');
  const organization = bool(p, 'organization');
  if (accountsFile !== undefined && organization) throw usage('give --accounts FILE or --organization, not both', 'the file lists accounts; --organization asks Organizations for them');
  const roleArn = roleArnFor(p);
  const externalId = str(p, 'external-id');
  if (externalId !== undefined && !isExternalId(externalId)) throw new KmsByokError('ERR_INVALID_ARGUMENT', 'invalid --external-id', { hint: 'an external id is 2 to 1224 characters of letters, digits and +=,.@:/-' });
  if ((accountsFile !== undefined || organization) && roleArn === undefined) {
    throw usage(`${organization ? '--organization' : '--accounts'} needs the role to reach the other accounts with`, 'give --role-name NAME or --role-arn-template ARN');
  }
  const warnText = str(p, 'warn-days') ?? '30';
  if (!/^\d{1,4}$/.test(warnText)) throw new KmsByokError('ERR_INVALID_ARGUMENT', `invalid --warn-days "${warnText}": expected a whole number of days`, { hint: 'e.g. --warn-days 30' });
  const planPath = str(p, 'write-plan');
  const planFile = planPath === undefined ? undefined : resolve(io.cwd, planPath);
  for (const f of ['identity', 'passphrase-file', 'expires-in']) {
    if (str(p, f) !== undefined && planFile === undefined) throw usage(`--${f} is for the plan --write-plan writes`, `add --write-plan FILE, or drop --${f}`);
  }
  const expiresIn = str(p, 'expires-in');
  if (expiresIn !== undefined) parseDuration(expiresIn, '--expires-in');
  if (planFile !== undefined && existsQuietly(planFile)) {
    throw new KmsByokError('ERR_FILE_WRITE', `--write-plan ${planPath}: something is already there; discover never overwrites a plan`, { hint: 'give a new file name, or move the old plan away', localInput: true });
  }
  const listed = accountsFile !== undefined ? readAccountsFile(io, accountsFile) : undefined;
  assertTargetChosen(p, io);
  assertDirectorySafe(escrowDir);

  const profile = str(p, 'profile');
  const targets = await openRegionalTargets(p, io, io.cancel.gate());
  const unseen: Unseen[] = [];
  const found: DiscoveredKey[] = [];
  const accounts: AccountPlan[] = [];
  try {
    const self = await targets.identityFor(regions[0]!, profile);
    if (organization) {
      try {
        for (const a of await targets.organizationAccounts(regions[0]!, profile)) if (a.status === undefined || a.status === 'ACTIVE') accounts.push({ accountId: a.id });
      } catch (e) {
        if (!(e instanceof KmsByokError)) throw e;
        unseen.push({ scope: 'organization', code: e.code, message: `${e.message}: the organisation's other accounts could not be listed; only ${self.account} was searched` });
        accounts.push({ accountId: self.account });
      }
    } else if (listed !== undefined) {
      accounts.push(...listed.map((a) => ({ accountId: a.accountId, ...(a.externalId ? { role: { roleArn: '', externalId: a.externalId } } : {}) })));
    } else accounts.push({ accountId: self.account });
    for (const a of accounts) {
      if (a.accountId === self.account) delete a.role;
      else {
        const ext = a.role?.externalId ?? externalId;
        a.role = { roleArn: roleArn!(a.accountId), ...(ext !== undefined ? { externalId: ext } : {}) };
      }
    }

    const clock: LimiterClock = { now: () => performance.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };
    const limiter = new RateLimiter(resolveRates([]), clock);
    const { runStatus } = await import('../../ceremony/status.js');
    const jobs = accounts.flatMap((a) => regions.map((region) => ({ a, region })));
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < jobs.length) {
        const { a, region } = jobs[next++]!;
        const access: AccountAccess = { account: a.accountId, ...(a.role ? { role: a.role } : {}) };
        try {
          const raw = await targets.portFor(region, profile, access);
          const kms = limitKms(raw, { limiter, clock, scope: (r) => `${a.accountId}/${r}` });
          const result = await runStatus({ keys: [], warnDays: Number(warnText) }, { kms, now: targets.now, escrowOf: (keyId) => latestEscrow(escrowDir, keyId) });
          for (const k of result.keys) found.push(discovered(a.accountId, region, k));
        } catch (e) {
          if (!(e instanceof KmsByokError)) throw e;
          const scope = e.code === 'ERR_ROLE_DENIED' || e.code === 'ERR_ACCOUNT_MISMATCH' ? 'account' : 'region';
          unseen.push({ accountId: a.accountId, region, ...(a.role ? { roleArn: a.role.roleArn } : {}), scope, code: e.code, message: e.message });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(8, jobs.length) }, worker));
  } finally {
    await targets.close();
  }
  found.sort((x, y) => x.accountId.localeCompare(y.accountId) || x.region.localeCompare(y.region) || x.keyId.localeCompare(y.keyId));

  let written: string | undefined;
  if (planFile !== undefined) {
    const plan = planOf(found, accounts, { escrowDir, warnDays: Number(warnText), identity: str(p, 'identity'), passphraseFile: str(p, 'passphrase-file'), expiresIn }, io);
    if (plan.keys.length === 0) say(io, 'warning', `no escrowed key found: --write-plan ${planPath} was not written (a plan needs keys)`);
    else {
      await createExclusive(planFile, `${JSON.stringify(plan, null, 2)}\n`, 'the discovered plan');
      written = planFile;
    }
  }
  const noEscrow = found.filter((k) => k.noEscrow);
  const attention = found.filter((k) => k.attention.length > 0);
  if (bool(p, 'json')) {
    printDocument(io, {
      command: 'discover',
      regions,
      accounts: accounts.map((a) => ({ accountId: a.accountId, ...(a.role ? { roleArn: a.role.roleArn } : {}) })),
      keys: found,
      unseen,
      summary: { keys: found.length, escrowed: found.length - noEscrow.length, noEscrow: noEscrow.length, attention: attention.length, unseen: unseen.length },
      ...(written ? { plan: written } : {}),
      escrowDir,
      needsAttention: attention.length > 0,
    });
  } else render(io, found);
  for (const k of noEscrow) say(io, 'warning', `${k.keyArn}: no escrow in ${escrowDir}`);
  for (const u of unseen) say(io, 'error', `could not search ${u.scope === 'organization' ? 'the organisation' : `account ${u.accountId}${u.scope === 'region' ? ` in ${u.region}` : ''}`}: ${u.code}: ${u.message}`);
  say(io, null, `discover: ${found.length} EXTERNAL key(s) in ${accounts.length} account(s) × ${regions.length} Region(s); ${noEscrow.length} without escrow, ${attention.length} need attention${unseen.length ? `, ${unseen.length} account/Region(s) not searched` : ''}`);
  if (written) say(io, 'note', `plan of the ${found.length - noEscrow.length} escrowed key(s) written to ${written}: kms-byok status --plan ${planPath} / reimport --plan ${planPath}`);
  if (unseen.length > 0) return ExitCode.failed;
  return attention.length > 0 ? ExitCode.attention : ExitCode.ok;
}

/** Whether anything (a file, a link, even a dangling one) is at `path`. */
function existsQuietly(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch (e) {
    return (e as { code?: string }).code !== 'ENOENT';
  }
}

function discovered(accountId: string, region: string, k: KeyStatus): DiscoveredKey {
  const noEscrow = !k.escrow.exists;
  return {
    accountId,
    region,
    keyId: k.keyId,
    keyArn: k.keyArn,
    keyState: k.keyState,
    ...(k.validTo ? { validTo: k.validTo } : {}),
    ...(k.daysLeft !== undefined ? { daysLeft: k.daysLeft } : {}),
    ...(k.escrow.exists && k.escrow.path ? { escrow: { path: k.escrow.path, ...(k.escrow.version !== undefined ? { version: k.escrow.version } : {}) } } : {}),
    noEscrow,
    unconfirmed: (k.escrow.unconfirmed?.length ?? 0) > 0,
    attention: k.attention,
  };
}

/** The plan of the escrowed keys: docs/fleet.md's format, each account's role in "accounts". */
function planOf(
  keys: DiscoveredKey[],
  accounts: AccountPlan[],
  d: { escrowDir: string; warnDays: number; identity: string | undefined; passphraseFile: string | undefined; expiresIn: string | undefined },
  io: Io,
): { version: 1; defaults: Record<string, unknown>; accounts?: Record<string, unknown>; keys: { key: string }[] } {
  const escrowed = keys.filter((k) => !k.noEscrow);
  const roles: Record<string, unknown> = {};
  for (const a of accounts) if (a.role && escrowed.some((k) => k.accountId === a.accountId)) roles[a.accountId] = { roleArn: a.role.roleArn, ...(a.role.externalId ? { externalId: a.role.externalId } : {}) };
  return {
    version: 1,
    defaults: {
      escrowDir: d.escrowDir,
      warnDays: d.warnDays,
      ...(d.identity ? { identity: resolve(io.cwd, d.identity) } : {}),
      ...(d.passphraseFile ? { passphraseFile: resolve(io.cwd, d.passphraseFile) } : {}),
      ...(d.expiresIn ? { expiresIn: d.expiresIn } : {}),
    },
    ...(Object.keys(roles).length ? { accounts: roles } : {}),
    keys: escrowed.map((k) => ({ key: k.keyArn })),
  };
}

function render(io: Io, keys: DiscoveredKey[]): void {
  if (keys.length === 0) {
    io.stdout.write('no EXTERNAL keys found\n');
    return;
  }
  const rows = [['ACCOUNT', 'REGION', 'KEY', 'STATE', 'VALIDTO', 'ESCROW', 'ACTION']];
  for (const k of keys) {
    rows.push([k.accountId, k.region, k.keyId, k.keyState, k.validTo?.replace(/\.\d{3}Z$/, 'Z') ?? '-', k.noEscrow ? 'NONE' : k.unconfirmed ? `v${k.escrow?.version ?? '?'} UNCONFIRMED` : `v${k.escrow?.version ?? '?'}`, k.attention.length ? k.attention[0]! : '-']);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) io.stdout.write(`${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}\n`);
}
