/**
 * Readers for request members, with AWS's checks.
 *
 * Contract: a member of the wrong JSON type is a `SerializationException` (the request could not be
 * deserialised into the operation's shape); a missing required member or a value outside the model's
 * constraints is a `ValidationException` worded as AWS words it. Blobs arrive as base64 strings;
 * timestamps as epoch seconds (integer or fractional — the JavaScript SDK sends milliseconds as a
 * fraction) and are returned as epoch milliseconds.
 */
import { fail, validationError } from './errors.js';

/** A request body: a JSON object. */
export type Input = Record<string, unknown>;

function typeError(field: string, expected: string): never {
  throw fail('SerializationException', `Could not deserialize member '${field}': expected ${expected}`);
}

interface StringRule {
  required?: boolean;
  min?: number;
  max?: number;
  pattern?: RegExp;
}

/** A string member (`undefined` when absent and not required). */
export function str(input: Input, field: string, rule: StringRule & { required: true }): string;
export function str(input: Input, field: string, rule?: StringRule): string | undefined;
export function str(input: Input, field: string, rule: StringRule = {}): string | undefined {
  const v = input[field];
  if (v === undefined || v === null) {
    if (rule.required) throw validationError(field, v, 'Member must not be null');
    return undefined;
  }
  if (typeof v !== 'string') typeError(field, 'a string');
  const min = rule.min ?? (rule.required ? 1 : 0);
  if (v.length < min) throw validationError(field, v, `Member must have length greater than or equal to ${min}`);
  if (rule.max !== undefined && v.length > rule.max) throw validationError(field, v, `Member must have length less than or equal to ${rule.max}`);
  if (rule.pattern && !rule.pattern.test(v)) throw validationError(field, v, `Member must satisfy regular expression pattern: ${rule.pattern.source}`);
  return v;
}

/** A string member restricted to an enumeration. */
export function oneOf<T extends string>(input: Input, field: string, values: readonly T[], required: true): T;
export function oneOf<T extends string>(input: Input, field: string, values: readonly T[], required?: boolean): T | undefined;
export function oneOf<T extends string>(input: Input, field: string, values: readonly T[], required = false): T | undefined {
  const v = str(input, field, { required });
  if (v === undefined) return undefined;
  if (!(values as readonly string[]).includes(v)) {
    throw validationError(field, v, `Member must satisfy enum value set: [${values.join(', ')}]`);
  }
  return v as T;
}

/** An integer member within `[min, max]`. */
export function int(input: Input, field: string, min: number, max: number): number | undefined {
  const v = input[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) typeError(field, 'an integer');
  if (v < min) throw validationError(field, v, `Member must have value greater than or equal to ${min}`);
  if (v > max) throw validationError(field, v, `Member must have value less than or equal to ${max}`);
  return v;
}

/** A boolean member. */
export function bool(input: Input, field: string): boolean | undefined {
  const v = input[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') typeError(field, 'a boolean');
  return v;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A blob member (base64 in JSON), with its length bounds in bytes. */
export function blob(input: Input, field: string, rule: { required: true; min?: number; max: number }): Buffer;
export function blob(input: Input, field: string, rule: { required?: false; min?: number; max: number }): Buffer | undefined;
export function blob(input: Input, field: string, rule: { required?: boolean; min?: number; max: number }): Buffer | undefined {
  const v = input[field];
  if (v === undefined || v === null) {
    if (rule.required) throw validationError(field, v, 'Member must not be null');
    return undefined;
  }
  if (typeof v !== 'string' || !BASE64.test(v)) typeError(field, 'a base64-encoded blob');
  const bytes = Buffer.from(v, 'base64');
  const min = rule.min ?? 1;
  if (bytes.length < min) throw validationError(field, '[binary]', `Member must have length greater than or equal to ${min}`);
  if (bytes.length > rule.max) throw validationError(field, '[binary]', `Member must have length less than or equal to ${rule.max}`);
  return bytes;
}

/** A timestamp member (epoch seconds, possibly fractional), returned as epoch milliseconds. */
export function timestamp(input: Input, field: string): number | undefined {
  const v = input[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return Math.round(v * 1000);
  // Tolerate an ISO-8601 string, which some hand-written clients send.
  if (typeof v === 'string' && !Number.isNaN(Date.parse(v))) return Date.parse(v);
  typeError(field, 'a timestamp in epoch seconds');
}

/** A map of string to string (EncryptionContext). */
export function stringMap(input: Input, field: string): Record<string, string> | undefined {
  const v = input[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) typeError(field, 'a map of strings');
  const out: Record<string, string> = Object.create(null) as Record<string, string>; // so a `__proto__` entry is an entry
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (typeof x !== 'string') typeError(`${field}.${k}`, 'a string');
    out[k] = x;
  }
  return out;
}

/** A list of AWS tags. */
export function tags(input: Input, field: string): { TagKey: string; TagValue: string }[] | undefined {
  const v = input[field];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) typeError(field, 'a list of tags');
  return v.map((t: unknown, i) => {
    if (typeof t !== 'object' || t === null) typeError(`${field}.${i + 1}`, 'a tag');
    const tag = t as Input;
    const TagKey = str(tag, 'TagKey', { required: true, min: 1, max: 128 });
    const TagValue = str(tag, 'TagValue', { min: 0, max: 256 });
    if (TagValue === undefined) throw validationError('TagValue', undefined, 'Member must not be null');
    return { TagKey, TagValue };
  });
}
