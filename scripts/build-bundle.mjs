#!/usr/bin/env node
// Builds the `kms-byok` binary as one esbuild bundle (docs/architecture.md, "The build"). Run by
// `npm run build` after tsc, which keeps writing the typed library (dist/index.js, dist/**/*.d.ts);
// tsconfig.build.json leaves src/bin.ts out, so dist/bin.cjs is only ever this bundle.
//
//   dist/bin.cjs                 the entry (CommonJS, see below): compile cache, core dumps, then
//                                `import()` of cli/main's chunk
//   dist/chunks/*.js             one chunk per dynamically imported module (every command of the
//                                command table, the SDK adapter, the emulator, age…) and shared chunks
//   dist/**/*.js.map             linked source maps (no sources content): stack traces name src/ files
//   dist/THIRD-PARTY-NOTICES.txt every package inside the bundle with its licence text
//
// Chunks: ESM, platform node, target = the lowest Node `engines` accepts; the AWS SDK is bundled (its ES
// modules, tree-shaken); `pkcs11js` (an optional native addon) stays external and is loaded lazily.
//
//   node scripts/build-bundle.mjs [--outdir DIR] [--metafile FILE]   (default dist/; FILE: esbuild's
//                                                                   metafile, to see what is where)
import { build } from 'esbuild';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { BUNDLE_OPTIONS, ROOT, TARGET } from './bundle-options.mjs';

const outdirArg = process.argv.indexOf('--outdir');
const OUTDIR = resolve(outdirArg > 0 ? process.argv[outdirArg + 1] : join(ROOT, 'dist'));
const metafileArg = process.argv.indexOf('--metafile');
/** Never bundled: native addons, loaded (lazily) from the installed package. */
const EXTERNAL = ['pkcs11js'];

// Chunks of an earlier build would linger beside the new ones (their names carry content hashes).
rmSync(join(OUTDIR, 'chunks'), { recursive: true, force: true });

/**
 * Fewer, larger chunks on the common path. esbuild puts each module in a chunk by the set of entry
 * points (here: every `import()` target) that statically reach it. With ~90 such targets (each
 * command, the lazily loaded parts of commands, the SDK's own lazily loaded credential providers)
 * the modules one command needs were spread over many small chunks, and Node pays a resolve, a read,
 * a compile and a link for each: `status` loaded 39 files. Three rules, generic over the sources,
 * give the modules on a common path one entry-point set, so a command loads a few large chunks
 * (`status`: 17 files):
 *
 *   1. every `import()` target under src/ (but those src/bin.ts loads before main) imports
 *      src/cli/main.ts, so what main reaches (argv, io, errors…) is reached by every lazily loaded
 *      module of ours alike;
 *   2. main imports the modules of ours that at least SHARED_BY of the command modules reach
 *      statically (escrow format and file edge, safe files, recipients, the import session's
 *      records…), when they import nothing outside src/ (no library — age, the SDK, the wizard's
 *      prompts — joins main's chunk) and never open KMS (no module that imports the SDK adapter, as
 *      cli/target.ts does: an air-gapped step must not load it). A command loads its ceremony with
 *      import(), so ceremonies stay apart;
 *   3. every `import()` target that reaches the AWS SDK's runtime (@smithy/core: the SDK's lazily
 *      loaded credential providers, our STS, Organizations and CloudTrail modules) imports the KMS
 *      adapter (src/kms/aws.ts), so the SDK runtime the adapter needs is one chunk, loaded once,
 *      whichever client comes first.
 *
 * The imports are bare (they bind nothing) and appended, so the source maps' line numbers are
 * unchanged. Rules 1 and 2 (and 3, for the SDK modules the adapter itself reaches) close import
 * cycles: a bare import reads no binding, but a cycle lets esbuild order the modules of a chunk
 * differently, so rule 2 never takes a module that really imports main, and the e2e suite loads every
 * command through the bundle (a binding read too early fails there). A first, unwritten build finds the `import()` targets. The effect is
 * measured by `npm run bench` (cold start, benchmark 3); test/e2e/bundle.test.ts checks the result.
 */
const MAIN = join(ROOT, 'src/cli/main.ts');
const AWS_ADAPTER = join(ROOT, 'src/kms/aws.ts');
const SHARED_BY = 0.3;

/** What a module statically imports, transitively, in an analysing build's metafile (itself included). */
function staticClosure(metafile, start) {
  const seen = new Set([start]);
  const stack = [start];
  while (stack.length > 0) {
    for (const i of metafile.inputs[stack.pop()]?.imports ?? []) {
      if (i.kind === 'import-statement' && !i.external && !seen.has(i.path)) seen.add(i.path), stack.push(i.path);
    }
  }
  return seen;
}

/**
 * The appended imports, from an analysing build: file → the modules it will import. Paths in the
 * metafile are relative to ROOT; onLoad sees absolute ones.
 */
function affinityImports(metafile) {
  const targets = new Set();
  for (const input of Object.values(metafile.inputs)) {
    for (const i of input.imports) if (i.kind === 'dynamic-import' && !i.external) targets.add(i.path);
  }
  const main = relative(ROOT, MAIN);
  const adapter = relative(ROOT, AWS_ADAPTER);
  const beforeMain = new Set(metafile.inputs['src/bin.ts'].imports.filter((i) => i.kind === 'dynamic-import').map((i) => i.path));
  const ours = [...targets].filter((t) => t.startsWith('src/') && t !== main && t !== adapter && !beforeMain.has(t));
  const appended = new Map();
  const append = (file, anchor) => appended.set(resolve(ROOT, file), [...(appended.get(resolve(ROOT, file)) ?? []), resolve(ROOT, anchor)]);
  for (const t of ours) append(t, main); // rule 1
  for (const t of targets) { // rule 3
    if (t === adapter || metafile.inputs[t].format !== 'esm') continue;
    if ([...staticClosure(metafile, t)].some((f) => /node_modules[\\/]@smithy[\\/]core[\\/]/.test(f))) append(t, adapter);
  }
  const fromMain = staticClosure(metafile, main);
  const commands = ours.filter((t) => t.startsWith('src/cli/commands/'));
  const opensKms = (f) => metafile.inputs[f].imports.some((i) => i.kind === 'dynamic-import' && i.path === adapter);
  // An external import that is not Node's own (pkcs11js, a native addon) counts as outside src/.
  const importsPackage = (f) => metafile.inputs[f].imports.some((i) => i.external && i.kind === 'import-statement' && !builtinModules.includes(i.path.replace(/^node:/, '')));
  const sharedBy = new Map(); // rule 2
  for (const t of commands) for (const f of staticClosure(metafile, t)) sharedBy.set(f, (sharedBy.get(f) ?? 0) + 1);
  for (const [f, n] of sharedBy) {
    if (!f.startsWith('src/') || fromMain.has(f) || n < SHARED_BY * commands.length) continue;
    const closure = [...staticClosure(metafile, f)];
    if (closure.every((g) => g.startsWith('src/') && g !== main && !opensKms(g) && !importsPackage(g))) append(main, f);
  }
  return appended;
}

/** Appends each module's imports of `appended` (see above). */
function chunkAffinity(appended) {
  return {
    name: 'chunk-affinity',
    setup(b) {
      b.onLoad({ filter: /\.(ts|js|mjs)$/ }, async (args) => {
        const imports = appended.get(args.path);
        if (imports === undefined) return undefined;
        const tail = imports.map((f) => `import ${JSON.stringify(f)};\n`).join('');
        return { contents: `${await readFile(args.path, 'utf8')}\n${tail}`, loader: args.path.endsWith('.ts') ? 'ts' : 'js' };
      });
    },
  };
}

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

const options = {
  ...BUNDLE_OPTIONS,
  define: { KMS_BYOK_TOP_LEVEL_HELP: JSON.stringify(await renderedTopLevelHelp()) },
  absWorkingDir: ROOT,
  entryPoints: { bin: 'src/bin.ts' },
  outdir: OUTDIR,
  external: EXTERNAL,
  chunkNames: 'chunks/[name]-[hash]',
  sourcemap: 'linked',
  sourcesContent: false,
  metafile: true,
};
const analysis = await build({ ...options, write: false });
const appended = affinityImports(analysis.metafile);
const result = await build({ ...options, plugins: [chunkAffinity(appended)] });

/**
 * The entry users run, dist/bin.cjs: src/bin.ts again, as CommonJS. Node starts a CommonJS file
 * without its ES module loader, which `--help` (answered by the entry alone) would otherwise pay
 * (~10% of its run); every other run imports the ES module chunks, and the loader with them. Its
 * `import()`s of main, io and core-dumps point at the chunks the build above made of them; its own
 * ES module twin (dist/bin.js, which gave those chunks their entry point) is removed.
 */
const chunkOf = (source) => {
  const out = Object.entries(result.metafile.outputs).find(([, o]) => o.entryPoint === source);
  if (!out) throw new Error(`no chunk has the entry point ${source}`);
  return `./${relative(OUTDIR, resolve(ROOT, out[0]))}`;
};
const entryChunks = {
  name: 'entry-chunks',
  setup(b) {
    b.onResolve({ filter: /^\.\/cli\/[\w-]+\.js$/ }, (args) =>
      args.kind === 'dynamic-import' ? { path: chunkOf(`src/cli/${args.path.slice('./cli/'.length, -'.js'.length)}.ts`), external: true } : undefined,
    );
  },
};
const entry = await build({
  ...options,
  plugins: [entryChunks],
  entryPoints: ['src/bin.ts'],
  outdir: undefined,
  outfile: join(OUTDIR, 'bin.cjs'),
  splitting: false,
  format: 'cjs',
  banner: undefined,
});
const esmEntry = Object.keys(result.metafile.outputs).filter((f) => result.metafile.outputs[f.replace(/\.map$/, '')]?.entryPoint === 'src/bin.ts');
for (const f of esmEntry) rmSync(resolve(ROOT, f));

writeFileSync(join(OUTDIR, 'THIRD-PARTY-NOTICES.txt'), notices({ inputs: { ...result.metafile.inputs, ...entry.metafile.inputs } }));
if (metafileArg > 0) {
  const outputs = Object.fromEntries(Object.entries(result.metafile.outputs).filter(([f]) => !esmEntry.includes(f)));
  writeFileSync(process.argv[metafileArg + 1], JSON.stringify({ inputs: { ...result.metafile.inputs, ...entry.metafile.inputs }, outputs: { ...outputs, ...entry.metafile.outputs } }));
}
const size = Object.entries(result.metafile.outputs).filter(([f]) => f.endsWith('.js')).reduce((n, [, o]) => n + o.bytes, 0);
const chunks = Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.js')).length;
const anchored = (a) => [...appended.values()].filter((x) => x.includes(a)).length;
console.error(`build-bundle: ${relative(ROOT, join(OUTDIR, 'bin.cjs'))} and ${chunks - 1} chunks, ${(size / 1024).toFixed(0)} KiB, target ${TARGET}; ${anchored(MAIN)} lazily loaded modules share main's chunk, ${anchored(AWS_ADAPTER)} the SDK runtime's, main imports ${(appended.get(MAIN) ?? []).length} shared modules`);

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
  const head = `Third-party software inside the kms-byok command-line bundle (dist/bin.cjs, dist/chunks/).
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
