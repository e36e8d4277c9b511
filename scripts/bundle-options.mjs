// The esbuild options every bundle of kms-byok's code is built with: the CLI (scripts/build-bundle.mjs)
// and the benchmark's bare-SDK baseline (scripts/bench/sdk-cold-floor.mjs), so that baseline is built
// exactly as the CLI is and the two can be compared.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The lowest Node version package.json `engines` accepts (e.g. "^20.19.0 || …" → node20.19). */
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const lowest = /(\d+)\.(\d+)/.exec(pkg.engines.node);
export const TARGET = `node${lowest[1]}.${lowest[2]}`;

/** Chunked ES modules for Node, the SDK's ES modules preferred, minified syntax and whitespace (names kept). */
export const BUNDLE_OPTIONS = {
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: TARGET,
  // Prefer each package's ES modules (the SDK ships both, and its exports list "node" → CommonJS
  // before "import"): they tree-shake and need no CommonJS wrappers at start-up.
  mainFields: ['module', 'main'],
  conditions: ['module'],
  // Licence texts go to THIRD-PARTY-NOTICES.txt, whole, instead of scattered comments.
  legalComments: 'none',
  minifySyntax: true,
  minifyWhitespace: true,
  logLevel: 'warning',
  // Bundled CommonJS (node-forge, some SDK dependencies) calls require() for Node's own modules.
  banner: { js: "import { createRequire as __kmsByokCreateRequire } from 'node:module'; const require = __kmsByokCreateRequire(import.meta.url);" },
};
