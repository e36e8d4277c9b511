/**
 * Cross-account roles in fleet plans (src/fleet/plan.ts, docs/fleet.md "Accounts and roles"): an
 * entry's role comes from the entry, else its account's group, else the defaults; the account an
 * entry expects is its own, else its key ARN's group, else its role's.
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePlan, planProblems } from '../../src/fleet/plan.js';

const ctx = { baseDir: '/plans', exists: (p: string) => p === '/plans/escrow', now: new Date('2026-11-22T00:00:00Z'), resolvePath: resolve };
const id = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const ROLE = (a: string, n = 'KmsByok') => `arn:aws:iam::${a}:role/${n}`;

function problemsOf(doc: unknown): string[] {
  try {
    parsePlan(JSON.stringify(doc), ctx);
    return [];
  } catch (e) {
    return planProblems(e) ?? [String(e)];
  }
}

describe('plans with roles', () => {
  it('entry over account group over defaults, the group picked by "account" or by the key ARN', () => {
    const plan = parsePlan(
      JSON.stringify({
        version: 1,
        defaults: { region: 'eu-west-1', roleArn: ROLE('111111111111', 'Default'), sessionName: 'fleet' },
        accounts: {
          '222222222222': { roleArn: ROLE('222222222222'), externalId: 'ext-2222', durationSeconds: 900 },
          '333333333333': { roleArn: ROLE('333333333333'), region: 'us-east-1' },
        },
        keys: [
          { key: id(1), account: '222222222222' },
          { key: `arn:aws:kms:us-east-1:333333333333:key/${id(2)}` },
          { key: id(3), account: '222222222222', roleArn: ROLE('222222222222', 'Other') },
          { key: id(4) },
        ],
      }),
      ctx,
    );
    const [a, b, c, d] = plan.entries;
    expect(a).toMatchObject({ account: '222222222222', role: { roleArn: ROLE('222222222222'), externalId: 'ext-2222', durationSeconds: 900, sessionName: 'fleet' }, region: 'eu-west-1' });
    expect(a!.id).toBe(`@222222222222/eu-west-1/${id(1)}`);
    expect(b).toMatchObject({ account: '333333333333', role: { roleArn: ROLE('333333333333') }, region: 'us-east-1' });
    expect(c!.role!.roleArn).toBe(ROLE('222222222222', 'Other'));
    // No account named: the role's account is the one expected.
    expect(d).toMatchObject({ account: '111111111111', role: { roleArn: ROLE('111111111111', 'Default') } });
  });

  it('the same alias in two accounts is two entries, not a duplicate', () => {
    const problems = problemsOf({
      version: 1,
      defaults: { region: 'eu-west-1' },
      accounts: { '222222222222': { roleArn: ROLE('222222222222') }, '333333333333': { roleArn: ROLE('333333333333') } },
      keys: [{ key: 'alias/payments', account: '222222222222' }, { key: 'alias/payments', account: '333333333333' }, { key: 'alias/payments', account: '333333333333' }],
    });
    expect(problems).toEqual(['keys[2]: duplicate key alias/payments in eu-west-1 (account 333333333333): also keys[1]']);
  });

  it('lists every malformed role field at once', () => {
    const problems = problemsOf({
      version: 1,
      defaults: { region: 'eu-west-1' },
      accounts: { '222222222222': { roleArn: ROLE('222222222222'), bogus: 1 } },
      keys: [
        { key: id(1), roleArn: 'arn:aws:iam::2222:role/x' },
        { key: id(2), roleArn: ROLE('222222222222'), externalId: 'x', sessionName: 'a b', durationSeconds: 43201 },
        { key: `arn:aws:kms:eu-west-1:444444444444:key/${id(3)}`, account: '555555555555' },
        { key: id(4), sessionName: 'fleet' },
      ],
    });
    expect(problems).toEqual([
      'accounts.222222222222: unknown field "bogus" (known: region, profile, escrowDir, expiresIn, validTo, noExpiry, warnDays, maxAge, identity, passphraseFile, roleArn, externalId, sessionName, durationSeconds)',
      'keys[0]: "roleArn" "arn:aws:iam::2222:role/x" is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)',
      'keys[1]: "externalId" must be 2 to 1224 characters of letters, digits and +=,.@:/-',
      'keys[1]: "sessionName" must be 2 to 64 characters of letters, digits and +=,.@-',
      'keys[1]: "durationSeconds" must be a whole number of seconds from 900 to 43200',
      'keys[2]: the key ARN is in account 444444444444, not 555555555555',
      'keys[3]: "sessionName" needs a "roleArn"',
    ]);
  });
});
