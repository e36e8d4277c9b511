/**
 * AWS Organizations as the emulator answers it (AWS JSON 1.1, X-Amz-Target prefix
 * `AWSOrganizationsV20161128`), from the declared directory (directory.ts).
 *
 * Contract: `ListAccounts` (MaxResults 1–20, default 20; NextToken as returned) lists the declared
 * accounts in declaration order, management account first. A caller whose account is not the
 * management account gets `AccessDeniedException`; with no organisation declared,
 * `AWSOrganizationsNotInUseException`.
 */
import { seconds, type Handler } from '../context.js';
import { fail, validationError } from '../errors.js';

const ORG_ID = 'o-kmsbyokemul';

export const listAccounts: Handler = (ctx, input) => {
  const dir = ctx.state.directory;
  if (!dir) throw fail('AWSOrganizationsNotInUseException', 'Your account is not a member of an organization.');
  if (ctx.accountId !== dir.managementAccount) {
    throw fail('AccessDeniedException', `You don't have permissions to access this resource. (account ${ctx.accountId} is not the organization's management account)`);
  }
  const max = input.MaxResults === undefined ? 20 : input.MaxResults;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 20) throw validationError('MaxResults', max, 'Member must have value between 1 and 20');
  let start = 0;
  if (input.NextToken !== undefined) {
    const m = typeof input.NextToken === 'string' ? /^acct-(\d{1,6})$/.exec(input.NextToken) : null;
    if (!m || Number(m[1]) > dir.accounts.length) throw fail('InvalidInputException', 'The provided NextToken is not valid.');
    start = Number(m[1]);
  }
  const page = dir.accounts.slice(start, start + max);
  const next = start + page.length;
  const joined = seconds(ctx.clock.now().getTime() - 86_400_000 * 365);
  return {
    Accounts: page.map((id) => ({
      Id: id,
      Arn: `arn:aws:organizations::${dir.managementAccount}:account/${ORG_ID}/${id}`,
      Email: `aws+${id}@example.invalid`,
      Name: id === dir.managementAccount ? 'management' : `account-${id}`,
      Status: 'ACTIVE',
      State: 'ACTIVE',
      JoinedMethod: id === dir.managementAccount ? 'CREATED' : 'INVITED',
      JoinedTimestamp: joined,
    })),
    ...(next < dir.accounts.length ? { NextToken: `acct-${next}` } : {}),
  };
};
