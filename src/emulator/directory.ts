/**
 * The organisation the emulator plays: its accounts (the emulator's own one is the management account
 * unless another is named) and the IAM roles STS `AssumeRole` lets a caller assume. Declared by
 * `startEmulator({ accounts, roles, managementAccount })`, `kms-byok emulator --account/--role`, or
 * the control operations `KmsByokEmulator.DeclareAccount` / `DeclareRole` (see README.md). Kept in the
 * state (`directory`), so a state file remembers it.
 *
 * Contract: a role's account is declared with it; declaring a role again replaces its external id.
 */
import type { DirectoryState, EmulatorState, RoleRecord } from './state.js';

const ACCOUNT = /^\d{12}$/;
const ROLE_ARN = /^arn:aws:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;

/** The role ARN's account and name, or undefined when it is not an IAM role ARN. */
export function parseRoleArn(arn: string): { accountId: string; roleName: string } | undefined {
  const m = ROLE_ARN.exec(arn);
  return m ? { accountId: m[1]!, roleName: m[2]! } : undefined;
}

/** Whether `id` is a well-formed ExternalId (AWS: 2–1224 characters of `[\w+=,.@:/-]`). */
export function isExternalId(id: string): boolean {
  return EXTERNAL_ID.test(id);
}

/** The state's directory, created (management account `home` unless named) on first use. */
export function directoryOf(state: EmulatorState, home: string, management?: string): DirectoryState {
  if (!state.directory) {
    const mgmt = management ?? home;
    state.directory = { managementAccount: mgmt, accounts: [mgmt], roles: [] };
  } else if (management !== undefined && state.directory.managementAccount !== management) {
    state.directory.managementAccount = management;
    if (!state.directory.accounts.includes(management)) state.directory.accounts.unshift(management);
  }
  return state.directory;
}

/** @throws Error when `id` is not 12 digits */
export function declareAccount(state: EmulatorState, home: string, id: string): void {
  if (!ACCOUNT.test(id)) throw new Error(`emulator: account id must be 12 digits, not ${id}`);
  const dir = directoryOf(state, home);
  if (!dir.accounts.includes(id)) dir.accounts.push(id);
}

/** @throws Error on a malformed role ARN or external id */
export function declareRole(state: EmulatorState, home: string, roleArn: string, externalId?: string): RoleRecord {
  const parsed = parseRoleArn(roleArn);
  if (!parsed) throw new Error(`emulator: ${roleArn} is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)`);
  if (externalId !== undefined && !isExternalId(externalId)) throw new Error('emulator: an external id is 2 to 1224 characters of letters, digits and +=,.@:/-');
  declareAccount(state, home, parsed.accountId);
  const dir = directoryOf(state, home);
  const role: RoleRecord = { roleArn, accountId: parsed.accountId, ...(externalId !== undefined ? { externalId } : {}) };
  const i = dir.roles.findIndex((r) => r.roleArn === roleArn);
  if (i >= 0) dir.roles[i] = role;
  else dir.roles.push(role);
  return role;
}

/**
 * Parses the flag form `ARN[:EXTERNAL_ID]` (the external id follows the role name after one more
 * colon; a role name has none).
 * @throws Error on anything else
 */
export function parseRoleFlag(text: string): { roleArn: string; externalId?: string } {
  const m = /^(arn:aws:iam::\d{12}:role\/[^:]+)(?::(.+))?$/.exec(text.trim());
  if (!m || !parseRoleArn(m[1]!)) throw new Error(`--role "${text}": expected arn:aws:iam::ACCOUNT:role/NAME[:EXTERNAL_ID]`);
  if (m[2] !== undefined && !isExternalId(m[2])) throw new Error(`--role "${text}": an external id is 2 to 1224 characters of letters, digits and +=,.@:/-`);
  return { roleArn: m[1]!, ...(m[2] !== undefined ? { externalId: m[2] } : {}) };
}
