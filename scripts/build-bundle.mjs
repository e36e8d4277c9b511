#!/usr/bin/env node
// Builds the `kms-byok` binary as one esbuild bundle (docs/architecture.md, "The build"). Run by
// `npm run build` after tsc, which keeps writing the typed library (dist/index.js, dist/**/*.d.ts);
// tsconfig.build.json leaves src/bin.ts out, so dist/bin.js is only ever this bundle.
//
//   dist/bin.js                  the entry: compile cache, core dumps, then `import()` of cli/main
//   dist/chunks/*.js             one chunk per dynamically imported module (every command of the
//                                command table, the SDK adapter, the emulator, age…) and shared chunks
//   dist/**/*.js.map             linked source maps (no sources content): stack traces name src/ files
//   dist/THIRD-PARTY-NOTICES.txt every package inside the bundle with its licence text
//
// ESM, platform node, target = the lowest Node `engines` accepts; the AWS SDK is bundled (its ES
// modules, tree-shaken); `pkcs11js` (an optional native addon) stays external and is loaded lazily.
//
//   node scripts/build-bundle.mjs [--outdir DIR]     (default dist/)
import { build } from 'esbuild';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outdirArg = process.argv.indexOf('--outdir');
const OUTDIR = resolve(outdirArg > 0 ? process.argv[outdirArg + 1] : join(ROOT, 'dist'));
/** The lowest Node version package.json `engines` accepts (e.g. "^20.19.0 || …" → node20.19). */
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const lowest = /(\d+)\.(\d+)/.exec(pkg.engines.node);
const TARGET = `node${lowest[1]}.${lowest[2]}`;
/** Never bundled: native addons, loaded (lazily) from the installed package. */
const EXTERNAL = ['pkcs11js'];

// Chunks of an earlier build would linger beside the new ones (their names carry content hashes).
rmSync(join(OUTDIR, 'chunks'), { recursive: true, force: true });

/**
 * Fewer, larger chunks on the common path. esbuild puts each module in a chunk by the set of entry
 * points (here: every `import()` target) that reach it, so the modules `cli/main.ts` loads for `--help`
 * (declarations, argv, io, errors…), each reached by main and by a different set of commands, were
 * ~30 chunks of a few hundred bytes — and each module costs Node a resolve, a read and a compile.
 * Every command module under src/cli/commands/ gets one more (side-effect free) import, of main.ts
 * itself, so what main loads is reached by main and by every command alike and lands in one shared
 * chunk. Appended, so the source map's line numbers are unchanged; generic over the command table.
 */
const MAIN = join(ROOT, 'src/cli/main.ts');
const commandsShareMain = {
  name: 'commands-share-main',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]cli[\\/]commands[\\/][^\\/]+\.ts$/ }, async (args) => ({
      contents: `${await readFile(args.path, 'utf8')}\nimport ${JSON.stringify(MAIN)};\n`,
      loader: 'ts',
    }));
  },
};

/**
 * The top-level help (`kms-byok --help`, `-h`, `help`), rendered at build time from the command
 * table (src/cli/specs/) and handed to src/bin.ts as the constant KMS_BYOK_TOP_LEVEL_HELP: the
 * binary prints it without loading main, the declarations or anything else. The specs are bundled
 * in memory and evaluated here, so the text is the one `main(['--help'])` prints (a test compares).
 */
async function renderedTopLevelHelp() {
  const specs = await build({ absWorkingDir: ROOT, entryPoints: ['src/cli/specs/index.ts'], bundle: true, write: false, format: 'esm', platform: 'node', target: TARGET, logLevel: 'warning' });
  const mod = await import(`data:text/javascript;base64,${Buffer.from(specs.outputFiles[0].contents).toString('base64')}`);
  return mod.topLevelHelp();
}

const result = await build({
  plugins: [commandsShareMain],
  define: { KMS_BYOK_TOP_LEVEL_HELP: JSON.stringify(await renderedTopLevelHelp()) },
  absWorkingDir: ROOT,
  entryPoints: { bin: 'src/bin.ts' },
  outdir: OUTDIR,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: TARGET,
  // Prefer each package's ES modules (the SDK ships both, and its exports list "node" → CommonJS
  // before "import"): they tree-shake and need no CommonJS wrappers at start-up.
  mainFields: ['module', 'main'],
  conditions: ['module'],
  external: EXTERNAL,
  chunkNames: 'chunks/[name]-[hash]',
  sourcemap: 'linked',
  sourcesContent: false,
  // Licence texts go to THIRD-PARTY-NOTICES.txt, whole, instead of scattered comments.
  legalComments: 'none',
  minifySyntax: true,
  minifyWhitespace: true,
  metafile: true,
  logLevel: 'warning',
  // Bundled CommonJS (node-forge, some SDK dependencies) calls require() for Node's own modules.
  banner: { js: "import { createRequire as __kmsByokCreateRequire } from 'node:module'; const require = __kmsByokCreateRequire(import.meta.url);" },
});

writeFileSync(join(OUTDIR, 'THIRD-PARTY-NOTICES.txt'), notices(result.metafile));
const size = Object.entries(result.metafile.outputs).filter(([f]) => f.endsWith('.js')).reduce((n, [, o]) => n + o.bytes, 0);
const chunks = Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.js')).length;
console.error(`build-bundle: ${relative(ROOT, join(OUTDIR, 'bin.js'))} and ${chunks - 1} chunks, ${(size / 1024).toFixed(0)} KiB, target ${TARGET}`);

/** The package directory (…/node_modules/name or …/node_modules/@scope/name) holding an input file. */
function packageDirOf(file) {
  const parts = file.split(/[\\/]/);
  const i = parts.lastIndexOf('node_modules');
  if (i < 0) return undefined;
  const n = parts[i + 1]?.startsWith('@') ? 2 : 1;
  return parts.slice(0, i + 1 + n).join('/');
}

/**
 * THIRD-PARTY-NOTICES.txt: every package with a file in the bundle, by name@version with its licence
 * (package.json) and the text of its LICENSE/LICENCE/COPYING/NOTICE files. Identical texts are
 * printed once, after the list of the packages they belong to.
 */
function notices(metafile) {
  const dirs = new Set();
  for (const input of Object.keys(metafile.inputs)) {
    const d = packageDirOf(input);
    if (d) dirs.add(d);
  }
  const byText = new Map();
  const packages = [];
  for (const d of [...dirs].sort()) {
    const p = JSON.parse(readFileSync(join(ROOT, d, 'package.json'), 'utf8'));
    const files = readdirSync(join(ROOT, d)).filter((f) => /^(licen[cs]e|copying|notice)(\.|-|$)/i.test(f)).sort();
    const text = files.map((f) => readFileSync(join(ROOT, d, f), 'utf8').trim()).join('\n\n') || noLicenceFile(licenceOf(p));
    const id = `${p.name}@${p.version}`;
    packages.push(`${id}  ${licenceOf(p)}`);
    byText.set(text, [...(byText.get(text) ?? []), id]);
  }
  const head = `Third-party software inside the kms-byok command-line bundle (dist/bin.js, dist/chunks/).
kms-byok itself is under the Apache License 2.0 (LICENSE). Generated by scripts/build-bundle.mjs
from the bundle's inputs; ${packages.length} packages.

${packages.join('\n')}
`;
  const texts = [...byText].map(([text, ids]) => `${'='.repeat(100)}\n${ids.join('\n')}\n${'-'.repeat(100)}\n${text}\n`);
  return `${head}\n${texts.join('\n')}`;
}

function noLicenceFile(licence) {
  const apache = licence === 'Apache-2.0' ? ': the text of the Apache License 2.0 is the LICENSE file shipped with kms-byok' : '';
  return `(the package ships no licence file; its package.json says "${licence}"${apache})`;
}

function licenceOf(p) {
  if (typeof p.license === 'string') return p.license;
  if (p.license?.type) return p.license.type;
  if (Array.isArray(p.licenses)) return p.licenses.map((l) => l.type ?? l).join(' OR ');
  return 'UNKNOWN';
}
