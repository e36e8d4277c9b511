import { describe, expect, it } from 'vitest';
import { assertValidTo, daysUntil, parseDuration, parseIsoTime } from './time.js';
import { KmsByokError } from './errors.js';

const now = new Date('2026-11-22T12:00:00Z');

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof KmsByokError ? e.code : 'not-a-KmsByokError';
  }
  return undefined;
}

describe('parseDuration', () => {
  it('reads minutes, hours, days and weeks', () => {
    expect(parseDuration('90d', '--expires-in')).toBe(90 * 86_400_000);
    expect(parseDuration('12h', '--x')).toBe(12 * 3_600_000);
    expect(parseDuration('2w', '--x')).toBe(14 * 86_400_000);
    expect(parseDuration('30m', '--x')).toBe(30 * 60_000);
  });
  it('refuses other shapes with ERR_INVALID_ARGUMENT naming the flag', () => {
    for (const bad of ['', '90', 'd', '-3d', '1.5d', '3y', '0d', '90 days']) {
      expect(codeOf(() => parseDuration(bad, '--expires-in')), bad).toBe('ERR_INVALID_ARGUMENT');
    }
    expect(() => parseDuration('soon', '--expires-in')).toThrow(/invalid --expires-in "soon"/);
  });
});

describe('parseIsoTime', () => {
  it('reads UTC and offset times, and a bare date as midnight UTC', () => {
    expect(parseIsoTime('2027-01-31', '--valid-to').toISOString()).toBe('2027-01-31T00:00:00.000Z');
    expect(parseIsoTime('2027-01-31T10:00:00Z', '--valid-to').toISOString()).toBe('2027-01-31T10:00:00.000Z');
    expect(parseIsoTime('2027-01-31T10:00:00+02:00', '--valid-to').toISOString()).toBe('2027-01-31T08:00:00.000Z');
  });
  it('refuses a time without a zone and garbage', () => {
    for (const bad of ['2027-01-31T10:00:00', 'tomorrow', '2027-13-45', '31/01/2027']) {
      expect(codeOf(() => parseIsoTime(bad, '--valid-to')), bad).toBe('ERR_INVALID_VALID_TO');
    }
  });
  it('refuses dates and times JavaScript would roll over, and accepts the real edge days', () => {
    for (const bad of ['2027-02-29', '2027-02-30T00:00:00Z', '2027-04-31', '2027-00-10', '2027-01-00', '2027-01-31T24:00:00Z', '2027-01-31T23:60:00Z', '2027-01-31T10:00:00+24:00']) {
      expect(codeOf(() => parseIsoTime(bad, '--valid-to')), bad).toBe('ERR_INVALID_VALID_TO');
    }
    expect(() => parseIsoTime('2027-02-30T00:00:00Z', '--valid-to')).toThrow('invalid --valid-to "2027-02-30T00:00:00Z": 2027-02 has no day 30 (it has 28 days)');
    expect(parseIsoTime('2028-02-29', '--valid-to').toISOString()).toBe('2028-02-29T00:00:00.000Z');
    expect(parseIsoTime('2027-12-31T23:59:59Z', '--valid-to').toISOString()).toBe('2027-12-31T23:59:59.000Z');
  });
});

describe('assertValidTo', () => {
  it('accepts the future up to 365 days', () => {
    expect(() => assertValidTo(new Date(now.getTime() + 1000), now)).not.toThrow();
    expect(() => assertValidTo(new Date(now.getTime() + 365 * 86_400_000), now)).not.toThrow();
  });
  it('refuses the past, now, and beyond 365 days', () => {
    expect(() => assertValidTo(new Date(now.getTime() - 1), now)).toThrow(/is in the past/);
    expect(codeOf(() => assertValidTo(now, now))).toBe('ERR_INVALID_VALID_TO');
    expect(() => assertValidTo(new Date(now.getTime() + 365 * 86_400_000 + 1), now)).toThrow(/more than 365 days ahead/);
  });
  it('daysUntil rounds down', () => {
    expect(daysUntil(new Date(now.getTime() + 1.9 * 86_400_000), now)).toBe(1);
    expect(daysUntil(new Date(now.getTime() - 0.5 * 86_400_000), now)).toBe(-1);
  });
});
