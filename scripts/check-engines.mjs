#!/usr/bin/env node
// Lists every installed package whose `engines.node` does not accept the running Node.
// Exit 1 when any does: a dependency that refuses this Node must not be pinned.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const [major, minor, patch] = process.versions.node.split('.').map(Number);

/** Minimal semver range check for the forms engines use: ">=a.b.c", "^a.b.c", "a.b - c", "||". */
function satisfies(range) {
  return range.split('||').some((alt) =>
    alt.trim().replace(/(>=|<=|>|<|=|\^|~)\s+/g, '$1').split(/\s+/).filter(Boolean).every((cmp) => {
      const m = /^(>=|<=|>|<|\^|~|=)?v?(\d+)(?:\.(\d+|x|\*))?(?:\.(\d+|x|\*))?/.exec(cmp);
      if (!m) return true;
      const op = m[1] ?? '=';
      const v = [Number(m[2]), Number(m[3] ?? 0) || 0, Number(m[4] ?? 0) || 0];
      const cmpv = [major, minor, patch];
      const c = cmpv[0] - v[0] || cmpv[1] - v[1] || cmpv[2] - v[2];
      switch (op) {
        case '>=': return c >= 0;
        case '>': return c > 0;
        case '<=': return c <= 0;
        case '<': return c < 0;
        case '^': return cmpv[0] === v[0] && c >= 0;
        case '~': return cmpv[0] === v[0] && cmpv[1] === v[1] && c >= 0;
        default: return m[3] === undefined ? cmpv[0] === v[0] : c === 0;
      }
    }),
  );
}

const bad = [];
function walk(dir) {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.')) continue;
    const p = join(dir, name);
    if (name.startsWith('@')) { walk(p); continue; }
    const pj = join(p, 'package.json');
    if (existsSync(pj)) {
      const pkg = JSON.parse(readFileSync(pj, 'utf8'));
      const range = pkg.engines?.node;
      if (range && !satisfies(range)) bad.push(`${pkg.name}@${pkg.version} engines.node "${range}"`);
      walk(join(p, 'node_modules'));
    }
  }
}
walk(join(process.cwd(), 'node_modules'));
if (bad.length) {
  console.error(`check-engines: ${bad.length} installed package(s) refuse node ${process.versions.node}:`);
  for (const b of bad) console.error(`  ${b}`);
  process.exit(1);
}
console.error(`check-engines: every installed package accepts node ${process.versions.node}`);
