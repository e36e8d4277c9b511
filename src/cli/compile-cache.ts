/**
 * Node's on-disk compile cache for the CLI (`module.enableCompileCache`, Node ≥ 22.8; absent on 20,
 * where this does nothing). kms-byok runs as root and from cron, so the cache — code Node will load
 * instead of compiling — lives only where no one else can write: `$XDG_CACHE_HOME/kms-byok/compile-cache`
 * (an absolute XDG_CACHE_HOME), else `~/.cache/kms-byok/compile-cache`, created 0700. The cache is
 * left off when that directory or `kms-byok/` above it is a symbolic link, is not a directory, belongs
 * to another user or is writable by group or others. `KMS_BYOK_NO_COMPILE_CACHE=1` turns it off.
 * Never throws: a cache is an optimisation (docs/architecture.md, "The build").
 */
import { lstatSync, mkdirSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

export interface CompileCacheDeps {
  env: Record<string, string | undefined>;
  /** `module.enableCompileCache` where Node has it. */
  enable: ((dir: string) => unknown) | undefined;
  home: () => string;
  euid: number | undefined;
}

/** Where the cache lives (not yet checked). */
export function compileCacheDir(env: CompileCacheDeps['env'], home: () => string): string {
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(home(), '.cache'), 'kms-byok', 'compile-cache');
}

/** Why `dir` is not safe for the cache, or undefined when it is: a directory of this user, 0700-like. */
export function unsafeCacheDir(dir: string, euid: number | undefined): string | undefined {
  const st = lstatSync(dir);
  if (st.isSymbolicLink()) return `${dir} is a symbolic link`;
  if (!st.isDirectory()) return `${dir} is not a directory`;
  if (euid !== undefined && st.uid !== euid) return `${dir} belongs to uid ${st.uid}, not ${euid}`;
  if ((st.mode & 0o022) !== 0) return `${dir} is writable by group or others`;
  return undefined;
}

/**
 * Enables the compile cache when Node has it, it is not turned off, and its directory is safe.
 * Returns the directory used, or why not (for tests and KMS_BYOK_DEBUG).
 */
export function enableCompileCache(deps: CompileCacheDeps): { dir: string } | { off: string } {
  if (deps.env.KMS_BYOK_NO_COMPILE_CACHE === '1') return { off: 'KMS_BYOK_NO_COMPILE_CACHE=1' };
  if (!deps.enable) return { off: 'this Node has no module.enableCompileCache' };
  try {
    const dir = compileCacheDir(deps.env, deps.home);
    if (!isAbsolute(dir)) return { off: 'no home directory' };
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const d of [join(dir, '..'), dir]) {
      const why = unsafeCacheDir(d, deps.euid);
      if (why) return { off: why };
    }
    deps.enable(dir);
    return { dir };
  } catch (e) {
    return { off: e instanceof Error ? e.message : String(e) };
  }
}

/** The CLI's call (src/bin.ts): this process's environment, Node's own `enableCompileCache`, home and euid. */
export function enableCliCompileCache(): { dir: string } | { off: string } {
  return enableCompileCache({
    env: process.env,
    enable: (nodeModule as { enableCompileCache?: (dir: string) => unknown }).enableCompileCache,
    home: homedir,
    euid: process.geteuid?.(),
  });
}
