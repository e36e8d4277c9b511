/**
 * STS as the emulator answers it (AWS Query protocol; see `query-protocol.ts`).
 *
 * Contract: `GetCallerIdentity` names the emulator's account and, as the caller, an IAM user named by
 * the access key id the request was signed with (`emulator` when unsigned). It never fails: like AWS,
 * it needs no permission.
 */
import type { Handler } from '../context.js';

export const getCallerIdentity: Handler = (ctx) => {
  const user = ctx.caller ?? 'emulator';
  return {
    UserId: user,
    Account: ctx.accountId,
    Arn: `arn:aws:iam::${ctx.accountId}:user/${user}`,
  };
};
