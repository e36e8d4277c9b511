/**
 * The offline step's import graph, statically: every module `kms-byok wrap` can load (static and
 * dynamic imports, transitively from cli/main.ts's entry for it) is listed, and none of them is the
 * AWS SDK, kms/aws, or cli/target. Complements the built-CLI test in airgap.test.ts, which proves the
 * same at run time under an import hook.
 */
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../../src');

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = new Set<string>();
  // `import type` is erased at compile time and loads nothing.
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s(?!type\s)[^;]*?from\s+['"]([^'"]+)['"]/g)) specs.add(m[1]!);
  for (const m of text.matchAll(/(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g)) specs.add(m[1]!);
  for (const m of text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)) specs.add(m[1]!);
  return [...specs];
}

function graph(entry: string): Set<string> {
  const seen = new Set<string>();
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    if (!file.startsWith(SRC)) continue;
    for (const spec of importsOf(file)) {
      if (spec.startsWith('.')) todo.push(resolve(dirname(file), spec).replace(/\.js$/, '.ts'));
      else seen.add(spec);
    }
  }
  return seen;
}

describe('kms-byok wrap loads nothing that reaches KMS', () => {
  const loaded = [...graph(resolve(SRC, 'cli/commands/wrap.ts'))].map((f) => (f.startsWith(SRC) ? relative(SRC, f) : f));

  it('walks the graph (the test can see the escrow and ceremony modules)', () => {
    expect(loaded).toEqual(expect.arrayContaining(['cli/commands/wrap.ts', 'airgap/ceremony.ts', 'escrow/file-store.ts']));
  });

  it('no @aws-sdk/*, kms/aws, cli/target or emulator', () => {
    expect(loaded.filter((m) => m.startsWith('@aws-sdk') || m === 'kms/aws.ts' || m === 'cli/target.ts' || m.startsWith('emulator/'))).toEqual([]);
  });

  it('the import command, by contrast, does reach the target (the check can fail)', () => {
    const online = [...graph(resolve(SRC, 'cli/commands/import.ts'))].map((f) => relative(SRC, f));
    expect(online).toContain('cli/target.ts');
  });
});
