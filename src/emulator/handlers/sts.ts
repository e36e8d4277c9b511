/**
 * STS as the emulator answers it (AWS Query protocol; see `query-protocol.ts`).
 *
 * Contracts:
 * - `GetCallerIdentity` never fails (like AWS, it needs no permission). For credentials AssumeRole
 *   issued it names the role's account and `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`; for any
 *   other access key, the emulator's own account and an IAM user named by the access key id
 *   (`emulator` when unsigned).
 * - `AssumeRole` (RoleArn, RoleSessionName, optional ExternalId and DurationSeconds 900–43200, default
 *   3600) issues temporary credentials for a declared role (directory.ts); every request signed with
 *   their access key id then acts in the role's account until they expire (ExpiredTokenException
 *   after). An undeclared role, a missing or wrong ExternalId for a role that has one, or an
 *   ExternalId for a role that has none: `AccessDenied` (403), worded as AWS words it. Malformed
 *   parameters: `ValidationError`.
 */
import { randomBytes } from 'node:crypto';
import type { Handler, HandlerContext } from '../context.js';
import { fail } from '../errors.js';
import { isExternalId, parseRoleArn } from '../directory.js';
import type { SessionRecord } from '../state.js';

const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function upperId(prefix: string): string {
  const bytes = randomBytes(16);
  return prefix + [...bytes].map((b) => UPPER[b % UPPER.length]).join('');
}

/** The caller as AWS names it in an AccessDenied message. */
function callerArn(ctx: HandlerContext): string {
  const s = ctx.session;
  if (s) return assumedRoleArn(s);
  return `arn:aws:iam::${ctx.accountId}:user/${ctx.caller ?? 'emulator'}`;
}

function assumedRoleArn(s: Pick<SessionRecord, 'accountId' | 'roleArn' | 'sessionName'>): string {
  return `arn:aws:sts::${s.accountId}:assumed-role/${parseRoleArn(s.roleArn)?.roleName ?? 'role'}/${s.sessionName}`;
}

function validation(field: string, value: unknown, constraint: string): Error {
  return fail('ValidationError', `1 validation error detected: Value ${value === undefined ? 'null' : `'${String(value)}'`} at '${field}' failed to satisfy constraint: ${constraint}`);
}

export const getCallerIdentity: Handler = (ctx) => {
  const s = ctx.session;
  if (s) return { UserId: s.assumedRoleId, Account: s.accountId, Arn: assumedRoleArn(s) };
  const user = ctx.caller ?? 'emulator';
  return { UserId: user, Account: ctx.accountId, Arn: `arn:aws:iam::${ctx.accountId}:user/${user}` };
};

export const assumeRole: Handler = (ctx, input) => {
  const roleArn = input.RoleArn;
  if (typeof roleArn !== 'string' || roleArn.length < 20 || roleArn.length > 2048) throw validation('roleArn', roleArn, 'Member must have length between 20 and 2048');
  const sessionName = input.RoleSessionName;
  if (typeof sessionName !== 'string' || !SESSION_NAME.test(sessionName)) {
    throw validation('roleSessionName', sessionName, 'Member must satisfy regular expression pattern: [\\w+=,.@-]* and have length between 2 and 64');
  }
  const externalId = input.ExternalId;
  if (externalId !== undefined && (typeof externalId !== 'string' || !isExternalId(externalId))) {
    throw validation('externalId', externalId, 'Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]* and have length between 2 and 1224');
  }
  const durationText = input.DurationSeconds;
  const duration = durationText === undefined ? 3600 : Number(durationText);
  if (!Number.isInteger(duration) || duration < 900 || duration > 43200) {
    throw validation('durationSeconds', durationText, 'Member must have value between 900 and 43200');
  }
  const role = ctx.state.directory?.roles.find((r) => r.roleArn === roleArn);
  // AWS says the same for a role that does not exist, one whose trust policy refuses the caller, and a
  // wrong external id: nothing tells a caller which it was.
  if (!role || role.externalId !== externalId) {
    throw fail('AccessDenied', `User: ${callerArn(ctx)} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`);
  }
  const accessKeyId = upperId('ASIA');
  const expiration = ctx.clock.now().getTime() + duration * 1000;
  const session: SessionRecord = {
    accountId: role.accountId,
    roleArn,
    sessionName,
    assumedRoleId: `${upperId('AROA')}:${sessionName}`,
    expiration,
  };
  ctx.state.sessions ??= {};
  ctx.state.sessions[accessKeyId] = session;
  // Forget sessions that have expired: the state does not grow with every AssumeRole.
  const now = ctx.clock.now().getTime();
  for (const [id, s] of Object.entries(ctx.state.sessions)) if (s.expiration <= now) delete ctx.state.sessions[id];
  return {
    Credentials: {
      AccessKeyId: accessKeyId,
      SecretAccessKey: randomBytes(30).toString('base64'),
      SessionToken: randomBytes(96).toString('base64'),
      Expiration: new Date(expiration).toISOString(),
    },
    AssumedRoleUser: { AssumedRoleId: session.assumedRoleId, Arn: assumedRoleArn(session) },
  };
};
