/**
 * Time parsing for flags (`--valid-to`, `--expires-in`, `--before`, `--max-age`). Pure; `now` is always
 * passed in so tests and the emulator clock agree.
 */
import { KmsByokError } from './errors.js';
import { MAX_VALID_TO_DAYS } from './aws-names.js';

const DAY_MS = 86_400_000;
const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: DAY_MS, w: 7 * DAY_MS };

/**
 * Parses a duration such as `90d`, `12h`, `2w`, `30m` into milliseconds.
 * Precondition: a positive whole number followed by one unit (m, h, d, w).
 */
export function parseDuration(text: string, flag: string): number {
  const m = /^\s*(\d{1,6})\s*([mhdw])\s*$/i.exec(text);
  if (!m) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `invalid ${flag} "${text}": expected a duration like 90d`, {
      hint: 'use a whole number with a unit: m (minutes), h (hours), d (days) or w (weeks), e.g. 90d',
    });
  }
  const ms = Number(m[1]) * UNIT_MS[m[2]!.toLowerCase()]!;
  if (ms <= 0) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `invalid ${flag} "${text}": must be greater than zero`, {
      hint: 'give a positive duration, e.g. 90d',
    });
  }
  return ms;
}

/**
 * Parses an ISO-8601 timestamp. A date without a time (`2027-01-31`) means midnight UTC; a time
 * without a zone is refused, because a key expiry must never depend on the operator's time zone.
 */
export function parseIsoTime(text: string, flag: string): Date {
  const trimmed = text.trim();
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(trimmed);
  const withZone = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i.test(trimmed);
  const d = new Date(dateOnly ? `${trimmed}T00:00:00Z` : trimmed);
  if ((!dateOnly && !withZone) || Number.isNaN(d.getTime())) {
    throw new KmsByokError('ERR_INVALID_VALID_TO', `invalid ${flag} "${text}": not an ISO-8601 time with a zone`, {
      hint: `use a UTC time such as 2027-06-30T00:00:00Z or a date such as 2027-06-30`,
    });
  }
  return d;
}

/**
 * Checks a `ValidTo` the way KMS will: strictly in the future and at most 365 days ahead.
 * Precondition: checked before any KMS call, so a bad expiry never leaves a key half-imported.
 */
export function assertValidTo(validTo: Date, now: Date, flag = '--valid-to'): void {
  if (validTo.getTime() <= now.getTime()) {
    throw new KmsByokError('ERR_INVALID_VALID_TO', `${flag} ${validTo.toISOString()} is in the past`, {
      hint: 'give a future time, or use --expires-in 90d',
    });
  }
  const max = now.getTime() + MAX_VALID_TO_DAYS * DAY_MS;
  if (validTo.getTime() > max) {
    throw new KmsByokError(
      'ERR_INVALID_VALID_TO',
      `${flag} ${validTo.toISOString()} is more than ${MAX_VALID_TO_DAYS} days ahead`,
      { hint: `AWS accepts a ValidTo at most ${MAX_VALID_TO_DAYS} days after the import; use --expires-in 365d or less` },
    );
  }
}

/** Whole days from `now` until `t`, rounded down (negative when past). */
export function daysUntil(t: Date, now: Date): number {
  return Math.floor((t.getTime() - now.getTime()) / DAY_MS);
}

export { DAY_MS };
