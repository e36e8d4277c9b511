/**
 * Every kms-byok command line in README.md and docs/*.md names a real command and only flags that
 * command declares, each with a value where it takes one: the docs cannot drift from the
 * declarations (src/cli/specs/). The README's shell blocks are also run for real
 * (test/e2e/readme.test.ts); the lines here are parsed with the command's own flag table.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFlags } from '../../src/cli/args.js';
import { flagSpec, isGroup } from '../../src/cli/command-spec.js';
import { resolveDeclared } from '../../src/cli/specs/index.js';

const ROOT = resolve(import.meta.dirname, '../..');
const DOCS = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** Shell words of one command line (quotes kept together, `\` continuations joined by the caller). */
function words(line: string): string[] {
  const out: string[] = [];
  // A quoted word is a value whatever it holds (a "$(…)" substitution included): marked as such.
  for (const m of line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) out.push(m[3] ?? `\u0000${m[1] ?? m[2]}`);
  return out;
}

/** `kms-byok …` invocations inside fenced shell blocks: file, line number and the words after `kms-byok`. */
function invocations(file: string): { file: string; line: number; argv: string[] }[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const found: { file: string; line: number; argv: string[] }[] = [];
  let fence: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const f = /^\s*```(\w*)/.exec(raw);
    if (f) {
      fence = fence === undefined ? f[1] || 'text' : undefined;
      continue;
    }
    if (fence === undefined || !['sh', 'bash', 'shell', 'console'].includes(fence)) continue;
    let text = raw;
    const start = i;
    while (text.endsWith('\\') && i + 1 < lines.length) text = `${text.slice(0, -1)} ${lines[++i]!.trim()}`;
    // Each command of a pipeline or `&&` chain; the kms-byok ones only.
    for (const part of text.replace(/#.*$/, '').split(/\|\||&&|\||;/)) {
      const w = words(part.trim().replace(/^\$\s+/, ''));
      const at = w.findIndex((x) => x === 'kms-byok' || x.endsWith('/kms-byok') || x === 'dist/bin.cjs');
      if (at < 0 || w.slice(0, at).some((x) => !/^(npx|node|sudo|[A-Z_]+=\S*|exec|env|time)$/.test(x))) continue;
      // Redirections and substitutions end the argv.
      const argv = w.slice(at + 1);
      const end = argv.findIndex((x) => /^[<>]|^\d?>|^\$\(/.test(x));
      const kept = (end < 0 ? argv : argv.slice(0, end)).map((x) => x.replace(/^\u0000/, ''));
      found.push({ file, line: start + 1, argv: kept });
    }
  }
  return found;
}

describe('command lines in the README and docs', () => {
  const all = DOCS.flatMap(invocations);

  it('finds the documented command lines', () => {
    expect(all.length).toBeGreaterThan(20);
  });

  for (const inv of all) {
    if (inv.argv.length === 0 || inv.argv[0] === '--help' || inv.argv[0] === '--version' || inv.argv[0] === 'help') continue;
    it(`${inv.file}:${inv.line} kms-byok ${inv.argv.join(' ')}`, () => {
      const found = resolveDeclared(inv.argv);
      expect(found, `unknown command "${inv.argv[0]}"`).toBeDefined();
      const d = found!.declared;
      if (isGroup(d)) {
        // A group named alone (e.g. `kms-byok escrow --help`) is fine; a group with words must name a subcommand.
        expect(found!.rest.filter((x) => !x.startsWith('-')), `no subcommand of ${d.name} named`).toEqual([]);
        return;
      }
      expect(() => parseFlags(found!.rest, flagSpec(d.flags), d.name)).not.toThrow();
    });
  }
});
