/**
 * Node's compile cache for the CLI (src/cli/compile-cache.ts): only in a directory of this user that
 * no one else can write — created 0700, refused when it or `kms-byok/` above it is a link, another
 * user's, or group/world-writable — off with KMS_BYOK_NO_COMPILE_CACHE=1 and on a Node without
 * `module.enableCompileCache` (20). On a Node that has it (22.8+, CI's other-node runs), the bundle is
 * spawned and the cache is filled.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { compileCacheDir, enableCompileCache, type CompileCacheDeps } from '../../src/cli/compile-cache.js';

const root = mkdtempSync(join(tmpdir(), 'kms-byok-ccache-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const euid = process.geteuid?.();
let n = 0;

function deps(env: CompileCacheDeps['env'] = {}, enabled: string[] = []): CompileCacheDeps & { enabled: string[] } {
  const home = join(root, `home-${n++}`);
  mkdirSync(home, { mode: 0o700 });
  return { env, enable: (d) => enabled.push(d), home: () => home, euid, enabled };
}

describe('compile cache directory', () => {
  it('is $XDG_CACHE_HOME/kms-byok/compile-cache for an absolute XDG_CACHE_HOME, else ~/.cache/…', () => {
    expect(compileCacheDir({ XDG_CACHE_HOME: '/var/cache/me' }, () => '/home/me')).toBe('/var/cache/me/kms-byok/compile-cache');
    expect(compileCacheDir({ XDG_CACHE_HOME: 'relative' }, () => '/home/me')).toBe('/home/me/.cache/kms-byok/compile-cache');
    expect(compileCacheDir({}, () => '/home/me')).toBe('/home/me/.cache/kms-byok/compile-cache');
  });

  it('is created 0700 (with its parents) and handed to Node', () => {
    const d = deps();
    const r = enableCompileCache(d);
    expect(r).toEqual({ dir: join(d.home(), '.cache/kms-byok/compile-cache') });
    expect(d.enabled).toEqual([join(d.home(), '.cache/kms-byok/compile-cache')]);
    for (const p of ['.cache', '.cache/kms-byok', '.cache/kms-byok/compile-cache']) expect(statSync(join(d.home(), p)).mode & 0o777, p).toBe(0o700);
  });

  it('is off with KMS_BYOK_NO_COMPILE_CACHE=1, and on a Node without module.enableCompileCache', () => {
    const d = deps({ KMS_BYOK_NO_COMPILE_CACHE: '1' });
    expect(enableCompileCache(d)).toEqual({ off: 'KMS_BYOK_NO_COMPILE_CACHE=1' });
    expect(d.enabled).toEqual([]);
    expect(enableCompileCache({ ...deps(), enable: undefined })).toMatchObject({ off: expect.stringContaining('no module.enableCompileCache') });
  });

  it('is refused when it is a symbolic link (to a directory of this user)', () => {
    const d = deps();
    mkdirSync(join(d.home(), '.cache/kms-byok'), { recursive: true, mode: 0o700 });
    mkdirSync(join(d.home(), 'elsewhere'), { mode: 0o700 });
    symlinkSync(join(d.home(), 'elsewhere'), join(d.home(), '.cache/kms-byok/compile-cache'));
    expect(enableCompileCache(d)).toMatchObject({ off: expect.stringContaining('symbolic link') });
    expect(d.enabled).toEqual([]);
  });

  it('is refused when kms-byok/ above it is a symbolic link', () => {
    const d = deps();
    mkdirSync(join(d.home(), '.cache'), { mode: 0o700 });
    mkdirSync(join(d.home(), 'planted/compile-cache'), { recursive: true, mode: 0o700 });
    symlinkSync(join(d.home(), 'planted'), join(d.home(), '.cache/kms-byok'));
    expect(enableCompileCache(d)).toMatchObject({ off: expect.stringContaining('symbolic link') });
    expect(d.enabled).toEqual([]);
  });

  it('is refused when group- or world-writable', () => {
    for (const mode of [0o770, 0o707, 0o777]) {
      const d = deps();
      const dir = join(d.home(), '.cache/kms-byok/compile-cache');
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      chmodSync(dir, mode);
      expect(enableCompileCache(d), mode.toString(8)).toMatchObject({ off: expect.stringContaining('writable by group or others') });
      expect(d.enabled).toEqual([]);
    }
  });

  it.runIf(euid === 0)('is refused when another user owns it (run as root, like cron)', () => {
    const d = deps();
    const dir = join(d.home(), '.cache/kms-byok/compile-cache');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chownSync(dir, 4242, 4242);
    expect(enableCompileCache(d)).toMatchObject({ off: expect.stringContaining('belongs to uid 4242') });
    expect(d.enabled).toEqual([]);
  });

  it('is refused when it is a file, and never throws', () => {
    const d = deps();
    mkdirSync(join(d.home(), '.cache/kms-byok'), { recursive: true, mode: 0o700 });
    spawnSync('sh', ['-c', `: > '${join(d.home(), '.cache/kms-byok/compile-cache')}'`]);
    expect(enableCompileCache(d)).toMatchObject({ off: expect.any(String) });
    expect(d.enabled).toEqual([]);
  });
});

const hasCompileCache = typeof (nodeModule as { enableCompileCache?: unknown }).enableCompileCache === 'function';

describe.runIf(hasCompileCache)(`the bundle on this Node (${process.version})`, () => {
  const BIN = fileURLToPath(new URL('../../dist/bin.cjs', import.meta.url));
  const run = (home: string, env: Record<string, string> = {}) =>
    // --version goes through main (the top-level --help is printed before the cache is enabled: src/bin.ts).
    spawnSync(process.execPath, [BIN, '--version'], { env: { PATH: process.env.PATH ?? '', HOME: home, ...env }, encoding: 'utf8' });

  it('fills ~/.cache/kms-byok/compile-cache (0700), and not with KMS_BYOK_NO_COMPILE_CACHE=1', () => {
    const home = mkdtempSync(join(root, 'spawn-'));
    expect(run(home, { KMS_BYOK_NO_COMPILE_CACHE: '1' }).status).toBe(0);
    expect(() => statSync(join(home, '.cache/kms-byok'))).toThrow();
    const r = run(home);
    expect(r.status, r.stderr).toBe(0);
    const dir = join(home, '.cache/kms-byok/compile-cache');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readdirSync(dir, { recursive: true }).length).toBeGreaterThan(0);
  });
});
