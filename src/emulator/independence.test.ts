import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : [];
  });
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

describe('the emulator is an independent oracle', () => {
  it('imports only node:*, node-forge and its own files — nothing else of kms-byok, no SDK', () => {
    const offending: string[] = [];
    for (const file of sources(here)) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(IMPORT)) {
        const spec = (m[1] ?? m[2])!;
        const ok = spec.startsWith('node:') || spec === 'node-forge' || (spec.startsWith('.') && !relative(here, resolve(dirname(file), spec)).startsWith('..'));
        if (!ok) offending.push(`${relative(here, file)} imports ${spec}`);
      }
    }
    expect(offending).toEqual([]);
  });

  it('does not use OpenSSL key wrap ciphers to unwrap (its RFC 5649 is its own)', () => {
    const offending = sources(here)
      .filter((f) => !f.endsWith('.test.helpers.ts'))
      .filter((f) => /create(?:De)?cipheriv\(\s*[`'"][^`'"]*wrap/i.test(readFileSync(f, 'utf8')))
      .map((f) => relative(here, f));
    expect(offending).toEqual([]);
  });
});
