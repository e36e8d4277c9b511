/**
 * The published package, as a user gets it: `npm pack` of a fresh build, the tarball's file list
 * (built JS, .d.ts, README, docs, LICENSE — nothing else), then an install of the tarball into an
 * empty project (dependencies from the npm cache, the registry only for what the cache lacks), and
 * the installed `kms-byok` run with npx: --help and a full rehearsal ceremony on the embedded emulator.
 *
 * Slow tier (about 30 s of its own: a build, an install, RSA-4096 wrapping keys): runs when
 * KMS_BYOK_PACKAGE_TEST=1 (which .ci/run sets) or KMS_BYOK_SLOW=1 (every slow tier, including the
 * exhaustive reliability matrices, which CI does not run). Locally:
 *   KMS_BYOK_PACKAGE_TEST=1 npx vitest run test/package
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const SLOW = process.env.KMS_BYOK_PACKAGE_TEST === '1' || process.env.KMS_BYOK_SLOW === '1';
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  bin: Record<string, string>;
  main?: string;
  types?: string;
  license: string;
};

/** What may be in the tarball. */
const ALLOWED = [/^package\.json$/, /^README\.md$/, /^LICENSE$/, /^docs\/[\w./-]+\.md$/, /^docs\/schemas\/[\w.-]+\.schema\.json$/, /^docs\/dr\/[\w.-]+\.(py|cjs)$/, /^dist\/[\w./-]+\.js$/, /^dist\/bin\.cjs$/, /^dist\/[\w./-]+\.d\.ts$/, /^dist\/(bin\.cjs|chunks\/[\w-]+\.js)\.map$/, /^dist\/THIRD-PARTY-NOTICES\.txt$/];
/** What must never be: sources, tests, fixtures, scripts, local state. */
const FORBIDDEN = [/^src\//, /^test\//, /^fixtures\//, /^scripts\//, /^\.tmp\//, /^\.ci\//, /\.test\./, /(?<!\.d)\.ts$/, /^(?!dist\/(bin\.cjs|chunks\/[\w-]+\.js)\.map$).*\.map$/, /^rehearsal\//, /^escrow\//, /tsconfig/, /vitest/];

describe.skipIf(!SLOW)('the npm package (slow tier: KMS_BYOK_PACKAGE_TEST=1)', () => {
  let work: string;
  let files: string[];
  let tarball: string;
  let project: string;

  const npmEnv: NodeJS.ProcessEnv = { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'kms-byok-pack-'));
    // A staging copy with a fresh build, so no stale file of a developer's dist/ can slip in or hide.
    const stage = join(work, 'stage');
    mkdirSync(stage);
    for (const f of ['package.json', 'README.md', 'LICENSE', 'docs']) cpSync(join(ROOT, f), join(stage, f), { recursive: true });
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(stage, 'dist')], { cwd: ROOT, stdio: 'pipe' });
    // `npm run build`'s second step: the CLI as an esbuild bundle (dist/bin.cjs, dist/chunks/, maps, notices).
    execFileSync(process.execPath, [join(ROOT, 'scripts/build-bundle.mjs'), '--outdir', join(stage, 'dist')], { cwd: ROOT, stdio: 'pipe' });
    const packed = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: stage, env: npmEnv, encoding: 'utf8' });
    const info = (JSON.parse(packed) as { filename: string; files: { path: string }[] }[])[0]!;
    files = info.files.map((f) => f.path).sort();
    tarball = join(work, info.filename);
    project = join(work, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'kms-byok-smoke', version: '0.0.0', private: true }));
    const install = spawnSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball], { cwd: project, env: npmEnv, encoding: 'utf8' });
    if (install.status !== 0) throw new Error(`npm install of the tarball failed:\n${install.stdout}\n${install.stderr}`);
  }, 240_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('holds only built JS, .d.ts, README, docs and LICENSE', () => {
    const unexpected = files.filter((f) => !ALLOWED.some((re) => re.test(f)) || FORBIDDEN.some((re) => re.test(f)));
    expect(unexpected).toEqual([]);
    for (const f of ['package.json', 'README.md', 'LICENSE', 'docs/json.md', 'docs/schemas/common.schema.json', 'docs/schemas/error.schema.json', pkg.bin['kms-byok']!.replace(/^\.\//, '')]) expect(files).toContain(f);
    expect(files.some((f) => f.startsWith('docs/'))).toBe(true);
    expect(files.some((f) => f.endsWith('.d.ts'))).toBe(true);
    // The binary is the bundle: its chunks, their source maps and the third-party licence notices ship.
    for (const f of ['dist/bin.cjs.map', 'dist/THIRD-PARTY-NOTICES.txt']) expect(files).toContain(f);
    expect(files.filter((f) => /^dist\/chunks\/.+\.js$/.test(f)).length).toBeGreaterThan(10);
    expect(files.filter((f) => /^dist\/chunks\/.+\.js\.map$/.test(f)).length).toBe(files.filter((f) => /^dist\/chunks\/.+\.js$/.test(f)).length);
  });

  it('ships the Apache-2.0 LICENSE that package.json names', () => {
    expect(pkg.license).toBe('Apache-2.0');
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).toContain('Apache License');
  });

  // package.json "main"/"types" name dist/index.js: that needs src/index.ts (docs/architecture.md), which does not
  // exist yet. Checked as soon as it does.
  it.skipIf(!existsSync(join(ROOT, 'src/index.ts')))('holds the library entry package.json points at', () => {
    for (const f of [pkg.main, pkg.types]) if (f) expect(files).toContain(f.replace(/^\.\//, ''));
  });

  it('npx kms-byok --help works from the installed package', () => {
    const r = spawnSync('npx', ['--no-install', 'kms-byok', '--help'], { cwd: project, env: npmEnv, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('Usage:');
    expect(r.stdout).toContain('kms-byok onboard');
    const v = spawnSync('npx', ['--no-install', 'kms-byok', '--version'], { cwd: project, env: npmEnv, encoding: 'utf8' });
    expect(v.stdout.trim()).toBe(`kms-byok ${pkg.version}`);
  });

  it('runs a rehearsal ceremony from the installed package (npx kms-byok onboard --emulator)', () => {
    const env: NodeJS.ProcessEnv = { ...npmEnv, CI: 'true' };
    for (const k of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE', 'AWS_ENDPOINT_URL_KMS', 'AWS_ENDPOINT_URL']) delete env[k];
    const r = spawnSync('npx', ['--no-install', 'kms-byok', 'onboard', '--emulator', '--yes', '--no-expiry', '--passphrase-file', '-', '--escrow-dir', join(work, 'escrow'), '--json'], {
      cwd: project,
      env,
      input: 'correct horse battery staple, a rehearsal passphrase\n',
      encoding: 'utf8',
      timeout: 180_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(JSON.stringify(result)).toMatch(/cmac-aes:[0-9A-F]{6}/i);
    expect(r.stderr).not.toMatch(/internal error/);
  }, 200_000);
});
