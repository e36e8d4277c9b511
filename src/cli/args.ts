/**
 * Flag parsing over `node:util` parseArgs, with kms-byok's error manners: an unknown flag or a missing
 * value is a usage error (exit 2) naming the flag and pointing at `--help`; an unknown flag close to a
 * declared one gets "did you mean --X?". Commands declare their flags in `src/cli/specs/` and parse
 * through `parseCommand` (command-spec.ts), which calls this.
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
      const guess = flag.startsWith('--') ? closestFlag(flag.slice(2).split('=')[0]!, Object.keys(spec)) : undefined;
      throw new KmsByokError('ERR_USAGE', `unknown flag ${flag || message}`, { hint: guess ? `did you mean --${guess}? (${help})` : help });
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

/**
 * The declared flag nearest to an unknown one, when it is near enough to be a typo: at most one edit
 * per four characters (at least one, at most three; a swap of neighbours counts as one), or the unknown
 * flag is the start of exactly one declared flag (`--expires` for `--expires-in`).
 */
export function closestFlag(unknown: string, declared: readonly string[]): string | undefined {
  const prefixed = declared.filter((d) => d.startsWith(unknown));
  if (unknown.length >= 3 && prefixed.length === 1) return prefixed[0];
  const limit = Math.min(3, Math.max(1, Math.floor(unknown.length / 4)));
  let best: { name: string; d: number } | undefined;
  for (const name of declared) {
    const d = editDistance(unknown, name);
    if (d <= limit && (best === undefined || d < best.d)) best = { name, d };
  }
  return best?.name;
}

/** Optimal-string-alignment distance: insertions, deletions, substitutions, adjacent swaps. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}
