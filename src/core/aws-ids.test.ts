import { describe, expect, it } from 'vitest';
import { isAccountId, isAliasName, isAwsAlias, isKeyId, isRegion, keyIdOf, parseKeyArn } from './aws-ids.js';

const ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const MRK = 'mrk-1234abcd12ab34cd56ef1234567890ab';

describe('AWS identifiers', () => {
  it('parses key ARNs of every partition, and nothing else', () => {
    expect(parseKeyArn(`arn:aws:kms:eu-west-1:111122223333:key/${ID}`)).toEqual({ partition: 'aws', region: 'eu-west-1', accountId: '111122223333', keyId: ID });
    expect(parseKeyArn(`arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/${MRK}`)?.region).toBe('us-gov-west-1');
    expect(parseKeyArn(`arn:aws-cn:kms:cn-north-1:111122223333:key/${ID}`)?.partition).toBe('aws-cn');
    for (const bad of [
      ID,
      `alias/x`,
      `arn:aws:kms:eu-west-1:111122223333:alias/x`,
      `arn:aws:kms:eu-west-1:11112222333:key/${ID}`,
      `arn:aws:kms:EU-WEST-1:111122223333:key/${ID}`,
      `arn:aws:kms:local:111122223333:key/${ID}`,
      `arn:aws:iam::111122223333:role/x`,
      `arn:aws:kms:eu-west-1:111122223333:key/${ID} `,
      `arn:aws:kms:eu-west-1:111122223333:key/`,
    ]) expect(parseKeyArn(bad), bad).toBeUndefined();
  });

  it('tells key ids, Regions, accounts and alias names by shape', () => {
    expect([ID, MRK].every(isKeyId)).toBe(true);
    expect([ID.toUpperCase(), 'mrk-123', 'k', `${ID}x`].some(isKeyId)).toBe(false);
    expect(['us-east-1', 'eu-west-3', 'ap-southeast-4', 'us-gov-west-1', 'il-central-1'].every(isRegion)).toBe(true);
    expect(['us-east', 'useast1', 'us-east-1a', 'US-EAST-1', '', 'us-east-123'].some(isRegion)).toBe(false);
    expect(isAccountId('111122223333')).toBe(true);
    expect(isAccountId('11112222333')).toBe(false);
    expect(isAliasName('alias/payments/prod_1-a')).toBe(true);
    expect(['payments', 'alias/', 'alias/a b', `alias/${'x'.repeat(251)}`].some(isAliasName)).toBe(false);
    expect(isAwsAlias('alias/aws/s3')).toBe(true);
  });

  it('keyIdOf: the id named without asking KMS (ids and ARNs of ids), never for aliases', () => {
    expect(keyIdOf(ID)).toBe(ID);
    expect(keyIdOf(`arn:aws:kms:eu-west-1:111122223333:key/${MRK}`)).toBe(MRK);
    expect(keyIdOf('alias/payments')).toBeUndefined();
    expect(keyIdOf('arn:aws:kms:eu-west-1:111122223333:key/k')).toBeUndefined();
  });
});
