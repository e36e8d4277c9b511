/**
 * Flag parsing over `node:util` parseArgs, with kms-byok's error manners: an unknown flag or a missing
 * value is a usage error (exit 2) naming the flag and pointing at `--help`.
 */
import { parseArgs } from 'node:util';
import { KmsByokError } from '../core/errors.js';

export type FlagSpec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>;

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export function parseFlags(argv: string[], spec: FlagSpec, command: string): Parsed {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: spec, allowPositionals: true, strict: true });
    return { values: values as Parsed['values'], positionals };
  } catch (e) {
    const code = (e as { code?: string }).code ?? '';
    const message = (e as Error).message;
    const flag = /'(-{1,2}[^' ]+)/.exec(message)?.[1] ?? '';
    const help = `run kms-byok ${command} --help for the flags it takes`;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      throw new KmsByokError('ERR_USAGE', `unknown flag ${flag || message}`, { hint: help });
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const missing = /argument missing/.test(message);
      throw new KmsByokError('ERR_USAGE', missing ? `${flag} needs a value` : `${flag} takes no value`, { hint: help });
    }
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      throw new KmsByokError('ERR_USAGE', `unexpected argument`, { hint: help });
    }
    throw new KmsByokError('ERR_USAGE', message.split('\n')[0]!.toLowerCase(), { hint: help });
  }
}

export function str(p: Parsed, name: string): string | undefined {
  const v = p.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function strs(p: Parsed, name: string): string[] {
  const v = p.values[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

export function bool(p: Parsed, name: string): boolean {
  return p.values[name] === true;
}

/** A required flag that was not given: exit 2 naming it. */
export function missing(flag: string, what: string, hint?: string): KmsByokError {
  return new KmsByokError('ERR_MISSING_INPUT', `missing ${flag}: ${what}`, { hint: hint ?? `pass ${flag}` });
}

/** Flags every command that talks to KMS accepts. */
export const TARGET_FLAGS: FlagSpec = {
  profile: { type: 'string' },
  region: { type: 'string' },
  'endpoint-url': { type: 'string' },
  emulator: { type: 'boolean' },
  'emulator-state': { type: 'string' },
  'read-timeout': { type: 'string' },
};

export const OUTPUT_FLAGS: FlagSpec = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};
