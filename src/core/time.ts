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
  // JavaScript rolls impossible dates over (2027-02-30 becomes March 2; 24:00 the next day): every
  // field as written must be a real calendar date and clock time.
  const problem = calendarProblem(trimmed);
  if (problem !== undefined) {
    throw new KmsByokError('ERR_INVALID_VALID_TO', `invalid ${flag} "${text}": ${problem}`, {
      hint: 'give a real calendar date and time, such as 2027-02-28T00:00:00Z',
    });
  }
  return d;
}

/** Why the fields of an ISO-8601 text are not a real date and time (undefined when they are). */
function calendarProblem(text: string): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?(Z|([+-])(\d{2}):(\d{2}))?)?$/i.exec(text);
  if (!m) return 'not an ISO-8601 time';
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12) return `there is no month ${m[2]}`;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day < 1 || day > daysInMonth) return `${m[1]}-${m[2]} has no day ${m[3]} (it has ${daysInMonth} days)`;
  if (m[4] !== undefined && (Number(m[4]) > 23 || Number(m[5]) > 59 || (m[6] !== undefined && Number(m[6]) > 59))) return `${m[4]}:${m[5]}${m[6] ? `:${m[6]}` : ''} is not a clock time`;
  if (m[8] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) return `${m[8]}${m[9]}:${m[10]} is not a time-zone offset`;
  return undefined;
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
