/**
 * The bundled CLI (dist/bin.cjs + dist/chunks/, scripts/build-bundle.mjs; docs/architecture.md "The
 * build"), spawned as users run it, with a resolve hook recording which chunks load and — through
 * their source maps — which source files and packages those chunks hold:
 *   - `status --json` loads neither age nor the emulator nor inquirer; `--emulator` loads the emulator;
 *     a ceremony that seals loads age (so the first check can fail);
 *   - main's chunk holds no command declaration (a run loads its own, help the table); each command
 *     is its own chunk; `status` loads a few large chunks;
 *   - THIRD-PARTY-NOTICES.txt has an entry, with its licence text, for every package in the bundle;
 *   - under KMS_BYOK_DEBUG=1 a stack trace names our src/ files, not the chunks.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator } from '../../src/emulator/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'dist/bin.cjs');
const HOOK = pathToFileURL(fileURLToPath(new URL('./record-modules-hook.mjs', import.meta.url))).href;
const dir = mkdtempSync(join(tmpdir(), 'kms-byok-bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Spawns the bundle (async: an in-process emulator must keep answering) and returns what it loaded. */
function loading(args: string[], opts: { input?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string; loaded: string[] }> {
  const resolved = join(dir, `resolved-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(resolved, '');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', HOOK, BIN, ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: dir, CI: 'true', KMS_BYOK_TEST_RESOLVED: resolved, KMS_BYOK_NO_COMPILE_CACHE: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr, loaded: readFileSync(resolved, 'utf8').split('\n').filter(Boolean) }));
    child.stdin.end(opts.input ?? '');
  });
}

const HEAVY = { age: /\/node_modules\/(age-encryption|@noble\/post-quantum)\//, emulator: /\/src\/emulator\//, inquirer: /\/node_modules\/@inquirer\//, forge: /\/node_modules\/node-forge\// };
const matching = (loaded: string[], re: RegExp) => loaded.filter((u) => re.test(u));

describe('the bundle loads only what a command uses', () => {
  let emu: Awaited<ReturnType<typeof startEmulator>>;
  beforeAll(async () => {
    emu = await startEmulator();
    mkdirSync(join(dir, 'escrow'), { mode: 0o700 });
  });
  afterAll(() => emu?.close());

  it('status --json reads sidecars over the SDK: no age, no emulator, no inquirer, no node-forge', async () => {
    const r = await loading(['status', '--json', '--endpoint-url', emu.endpoint, '--region', 'us-east-1', '--escrow-dir', join(dir, 'escrow')]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ keys: [], needsAttention: false });
    // The recording works: the command and the SDK were seen inside the chunks that loaded.
    expect(r.loaded.some((u) => u.endsWith('/src/cli/commands/status.ts'))).toBe(true);
    expect(r.loaded.some((u) => u.includes('/node_modules/@aws-sdk/client-kms/'))).toBe(true);
    expect(r.loaded.every((u) => !u.startsWith('file:') || u.startsWith(pathToFileURL(ROOT).href) || u.includes('/node_modules/'))).toBe(true);
    for (const re of Object.values(HEAVY)) expect(matching(r.loaded, re)).toEqual([]);
    // Sidecars only (cli/sidecars.ts): no vault, no share splitting, no onboarding ceremony. The small
    // pure modules most commands share (recipients, the import session's records, the wrapping
    // functions) ride in main's chunk: one file read instead of several (scripts/build-bundle.mjs).
    expect(r.loaded.some((u) => u.endsWith('/src/escrow/format.ts'))).toBe(true);
    expect(matching(r.loaded, /\/src\/escrow\/(vault|modes)\.ts|shamir-secret-sharing|\/src\/ceremony\/(onboard|shared)\.ts/)).toEqual([]);
    // Its own declaration, not the command table (which only help loads).
    expect(r.loaded.some((u) => u.endsWith('/src/cli/specs/status.ts'))).toBe(true);
    expect(matching(r.loaded, /\/src\/cli\/specs\/(index|onboard|reimport)\.ts/)).toEqual([]);
    // A few large chunks, not one per combination of commands (39 files before the build's chunk rules).
    const files = [...new Set(r.loaded.filter((u) => u.startsWith(pathToFileURL(join(ROOT, 'dist')).href)))];
    expect(files.length, files.join('\n')).toBeLessThanOrEqual(20);
  });

  it('status --emulator loads the emulator (and still not age)', async () => {
    const r = await loading(['status', '--emulator', '--json', '--escrow-dir', join(dir, 'escrow')]);
    expect(r.code, r.stderr).toBe(0);
    expect(matching(r.loaded, HEAVY.emulator).length).toBeGreaterThan(0);
    expect(matching(r.loaded, HEAVY.age)).toEqual([]);
  });

  it('a ceremony that seals an escrow loads age', async () => {
    const r = await loading(['onboard', '--yes', '--json', '--no-expiry', '--passphrase-file', '-', '--escrow-dir', join(dir, 'escrow'), '--endpoint-url', emu.endpoint, '--region', 'us-east-1'], {
      input: 'a rehearsal passphrase of several words\n',
    });
    expect(r.code, r.stderr).toBe(0);
    expect(matching(r.loaded, HEAVY.age).length).toBeGreaterThan(0);
  }, 120_000);
});

/** Every file of the bundle with its source map's sources (absolute paths). */
function bundleFiles(): { file: string; sources: string[] }[] {
  const maps = ['bin.cjs.map', ...readdirSync(join(ROOT, 'dist/chunks')).filter((f) => f.endsWith('.js.map')).map((f) => `chunks/${f}`)];
  return maps.map((m) => {
    const map = join(ROOT, 'dist', m);
    return { file: m.replace(/\.map$/, ''), sources: (JSON.parse(readFileSync(map, 'utf8')) as { sources: string[] }).sources.map((s) => fileURLToPath(new URL(s, pathToFileURL(map)))) };
  });
}

const bundleSources = (): string[] => bundleFiles().flatMap((f) => f.sources);

/** The package directory (…/node_modules/[@scope/]name) of a path inside node_modules. */
function packageDir(path: string): string | undefined {
  const parts = path.split('/');
  const i = parts.lastIndexOf('node_modules');
  if (i < 0) return undefined;
  return parts.slice(0, i + (parts[i + 1]!.startsWith('@') ? 3 : 2)).join('/');
}

describe('chunks', () => {
  it('an install missing a chunk says it cannot start (exit 1, ERR_INTERNAL, no stack trace); the intact copy runs', () => {
    const copy = join(dir, 'damaged');
    cpSync(join(ROOT, 'dist'), join(copy, 'dist'), { recursive: true });
    writeFileSync(join(copy, 'package.json'), '{"type":"module"}');
    const env = { PATH: process.env.PATH ?? '', HOME: dir };
    const intact = spawnSync(process.execPath, [join(copy, 'dist/bin.cjs'), '--version'], { env, encoding: 'utf8' });
    expect(intact.status, intact.stderr).toBe(0);
    const main = readdirSync(join(copy, 'dist/chunks')).find((f) => /^main-[\w]+\.js$/.test(f))!;
    rmSync(join(copy, 'dist/chunks', main));
    const r = spawnSync(process.execPath, [join(copy, 'dist/bin.cjs'), '--version'], { env, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('kms-byok: error: cannot start:');
    expect(r.stderr).toContain('kms-byok: code: ERR_INTERNAL');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });


  it('the command table (src/cli/specs/index.ts) is loaded only for help: a command run loads its own declaration', () => {
    const table = bundleFiles().filter((f) => f.sources.some((s) => s.endsWith('/src/cli/specs/index.ts')));
    expect(table).toHaveLength(1);
    const main = bundleFiles().filter((f) => f.sources.some((s) => s.endsWith('/src/cli/main.ts')));
    expect(main).toHaveLength(1);
    expect(main[0]!.sources.filter((s) => /\/src\/cli\/specs\/(?!shared)/.test(s))).toEqual([]);
  });

  it('each command of the table is its own chunk', () => {
    const commands = readdirSync(join(ROOT, 'src/cli/commands')).filter((f) => f.endsWith('.ts') && !f.includes('.test.'));
    for (const c of commands) {
      const holders = bundleFiles().filter((f) => f.sources.some((s) => s.endsWith(`/src/cli/commands/${c}`)));
      expect(holders.map((f) => f.file), c).toHaveLength(1);
      expect(holders[0]!.sources.filter((s) => s.includes('/src/cli/commands/')), c).toEqual([expect.stringContaining(`/src/cli/commands/${c}`)]);
    }
  });
});

describe('THIRD-PARTY-NOTICES.txt', () => {
  it('has an entry with the licence text for every package inside the bundle', () => {
    const notices = readFileSync(join(ROOT, 'dist/THIRD-PARTY-NOTICES.txt'), 'utf8');
    const dirs = [...new Set(bundleSources().map(packageDir).filter((d): d is string => d !== undefined))];
    expect(dirs.length).toBeGreaterThan(20);
    const names = dirs.map((d) => {
      const p = JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')) as { name: string; version: string };
      const licence = readdirSync(d).find((f) => /^licen[cs]e/i.test(f));
      return { id: `${p.name}@${p.version}`, text: licence ? readFileSync(join(d, licence), 'utf8').trim().split('\n')[0]! : undefined };
    });
    const missing = names.filter((n) => !notices.split('\n').some((line) => line === n.id || line.startsWith(`${n.id}  `)));
    expect(missing.map((n) => n.id)).toEqual([]);
    for (const n of names) if (n.text) expect(notices, n.id).toContain(n.text);
    for (const pkg of ['@aws-sdk/client-kms', '@smithy/core', 'age-encryption', 'node-forge']) expect(names.some((n) => n.id.startsWith(`${pkg}@`)), pkg).toBe(true);
  });
});

describe('source maps', () => {
  const run = (env: Record<string, string>) =>
    spawnSync(process.execPath, [BIN, 'onboard', '--emulator', '--yes', '--no-expiry', '--passphrase-file', join(dir, 'no-such-file'), '--escrow-dir', join(dir, 'escrow-maps')], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: dir, CI: 'true', KMS_BYOK_NO_COMPILE_CACHE: '1', ...env },
      encoding: 'utf8',
    });

  it('under KMS_BYOK_DEBUG=1 a stack trace names our src/ files, not the bundle', () => {
    const r = run({ KMS_BYOK_DEBUG: '1' });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toContain('ERR_FILE_READ');
    expect(r.stderr).toMatch(/at .*src\/escrow\/file-store\.ts:\d+:\d+/);
    expect(r.stderr).toMatch(/at .*src\/cli\/main\.ts:\d+:\d+/);
    expect(r.stderr).not.toMatch(/dist\/chunks\//);
  });

  it('without it, the user sees no stack trace at all', () => {
    const r = run({});
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('kms-byok: code: ERR_FILE_READ');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
