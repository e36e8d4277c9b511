/**
 * The declaration of a command: its flags (with help text and value syntax), usage lines, the
 * paragraphs of its help and its examples. A command is declared once, in `src/cli/specs/`; its
 * parser (`parseCommand`) and its `--help` text (`helpText`) are both made from the declaration, so
 * the two cannot drift (docs/architecture.md, "Commands are declared once").
 *
 * This module and `src/cli/specs/*` import nothing heavy (no SDK, age, inquirer, emulator): `--help`
 * and `kms-byok help CMD` load only them.
 */
import { parseFlags, type FlagSpec, type Parsed } from './args.js';
import { applyKeyArguments } from './key-args.js';
import type { Io } from './io.js';

export interface FlagDecl {
  type: 'string' | 'boolean';
  /** Repeatable: the values are collected in order. */
  multiple?: boolean;
  /** One-letter alias, e.g. `h` for `-h`. */
  short?: string;
  /** How the value is written in help: FILE, DURATION, alias/NAME, … (string flags only; default VALUE). */
  value?: string;
  /** What the flag does. Several lines are separated by \n; they are aligned under the first. */
  help: string;
  /** The help section the flag is listed under (default "Flags"). */
  group?: string;
}

export type FlagDecls = Readonly<Record<string, FlagDecl>>;

export interface CommandSpec {
  /** The words after `kms-byok`: "status", "escrow inspect". */
  name: string;
  /** One line for the list of commands. */
  summary: string;
  /** Synopsis lines after "kms-byok "; a line starting with a space continues the one above. */
  usage: readonly string[];
  /** Paragraphs printed after the usage. */
  description?: string;
  flags: FlagDecls;
  /** Paragraphs printed after the flags. */
  notes?: string;
  /** Example blocks; `$ ` lines are commands, other lines comments or continuations. */
  examples?: readonly string[];
  /**
   * The command takes KEY positionals: `--key-id KEY` is accepted as the AWS CLI spells it, and a
   * key ARN's Region is used when no --region is given (see key-args.ts). `one` or `many` keys.
   */
  keys?: 'one' | 'many';
}

/** A command with subcommands (`escrow inspect|verify|…`, `transcript verify`). */
export interface CommandGroup {
  name: string;
  summary: string;
  description?: string;
  subcommands: readonly CommandSpec[];
}

export type Declared = CommandSpec | CommandGroup;

export function isGroup(d: Declared): d is CommandGroup {
  return 'subcommands' in d;
}

/** The `node:util` parseArgs options of a declaration. */
export function flagSpec(flags: FlagDecls): FlagSpec {
  const spec: FlagSpec = {};
  for (const [name, d] of Object.entries(flags)) {
    spec[name] = { type: d.type, ...(d.multiple ? { multiple: true } : {}), ...(d.short ? { short: d.short } : {}) };
  }
  return spec;
}

/**
 * Parses argv by the declaration: unknown flags are usage errors (with "did you mean"), and for
 * commands that take keys, `--key-id` and an ARN's Region are applied (key-args.ts).
 */
export function parseCommand(argv: string[], spec: CommandSpec, env: Io['env'] = {}): Parsed {
  const p = parseFlags(argv, flagSpec(spec.flags), spec.name);
  if (spec.keys && p.values.help !== true) applyKeyArguments(p, spec.name, env);
  return p;
}

const INDENT = '    ';
/** The widest flag column before a flag's help moves to the next line. */
const MAX_FLAG_COLUMN = 28;

function flagLabel(name: string, d: FlagDecl): string {
  const long = `--${name}${d.type === 'string' ? ` ${d.value ?? 'VALUE'}` : ''}`;
  return d.short ? `-${d.short}, ${long}` : long;
}

/** Aligned `label  help` lines (help continuation lines aligned under the first). */
function table(rows: readonly (readonly [string, string])[]): string[] {
  const fitting = rows.map(([l]) => l.length).filter((n) => n <= MAX_FLAG_COLUMN);
  const width = Math.max(0, ...fitting) + 2;
  const out: string[] = [];
  for (const [label, help] of rows) {
    const [first = '', ...more] = help.split('\n');
    if (label.length + 2 > width) out.push(`${INDENT}${label}`, `${INDENT}${' '.repeat(width)}${first}`);
    else out.push(`${INDENT}${label.padEnd(width)}${first}`);
    for (const line of more) out.push(`${INDENT}${' '.repeat(width)}${line}`);
  }
  return out;
}

/** The flags of a declaration by help section, sections in order of their first flag. */
export function flagSections(flags: FlagDecls): Map<string, [string, FlagDecl][]> {
  const sections = new Map<string, [string, FlagDecl][]>();
  for (const entry of Object.entries(flags)) {
    const group = entry[1].group ?? 'Flags';
    sections.set(group, [...(sections.get(group) ?? []), entry]);
  }
  return sections;
}

function usageBlock(lines: readonly string[]): string {
  return `Usage:\n${lines.map((l) => (l.startsWith(' ') ? `${INDENT}${l}` : `${INDENT}kms-byok ${l}`)).join('\n')}\n`;
}

function examplesBlock(examples: readonly string[]): string {
  // A block led by a comment line is set apart by a blank line (the emulator's failure drill).
  const lines = examples.flatMap((e, i) => [...(i > 0 && e.startsWith('#') ? [''] : []), ...e.split('\n')]);
  return `${examples.length === 1 ? 'Example' : 'Examples'}:\n${lines.map((l) => (l ? `${INDENT}${l}` : '')).join('\n')}\n`;
}

/** The `--help` text of a command, generated from its declaration. */
export function helpText(spec: CommandSpec): string {
  const parts = [usageBlock(spec.usage)];
  if (spec.description) parts.push(`${spec.description.trimEnd()}\n`);
  for (const [group, entries] of flagSections(spec.flags)) {
    parts.push(`${group}:\n${table(entries.map(([n, d]) => [flagLabel(n, d), d.help])).join('\n')}\n`);
  }
  if (spec.notes) parts.push(`${spec.notes.trimEnd()}\n`);
  if (spec.examples && spec.examples.length > 0) parts.push(examplesBlock(spec.examples));
  return parts.join('\n');
}

/** The `--help` text of a command group: every subcommand's usage, the group's paragraphs, the subcommands. */
export function groupHelpText(group: CommandGroup): string {
  const parts = [usageBlock(group.subcommands.flatMap((s) => s.usage))];
  if (group.description) parts.push(`${group.description.trimEnd()}\n`);
  const width = Math.max(...group.subcommands.map((s) => s.name.length - group.name.length - 1)) + 2;
  parts.push(`Commands:\n${group.subcommands.map((s) => `${INDENT}${s.name.slice(group.name.length + 1).padEnd(width)}${s.summary}`).join('\n')}\n`);
  parts.push(`Run kms-byok ${group.name} COMMAND --help for a command's flags and examples.\n`);
  return parts.join('\n');
}

/** The help of a declaration, whichever kind it is. */
export function declaredHelp(d: Declared): string {
  return isGroup(d) ? groupHelpText(d) : helpText(d);
}

/**
 * The declaration `argv` (the words after `kms-byok`) runs, given the declaration its first word
 * names: a subcommand when that is a group and the second word one of its subcommands, else the
 * command or the group itself.
 */
export function resolveIn(d: Declared | undefined, argv: readonly string[]): { declared: Declared; rest: string[] } | undefined {
  if (d === undefined) return undefined;
  if (isGroup(d)) {
    const s = d.subcommands.find((c) => c.name === `${d.name} ${argv[1]}`);
    if (s) return { declared: s, rest: argv.slice(2) };
  }
  return { declared: d, rest: argv.slice(1) };
}
