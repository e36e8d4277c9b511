/**
 * The BUILT CLI (`node dist/bin.cjs`) for the tests that run it. test/global-setup.ts runs
 * `npm run build`'s compiler once before the suite, so dist/ is the code under test; this only builds
 * when dist/bin.cjs is missing (a run with another config), serialized across workers with a lock.
 * It does not rebuild on every source change: with several engineers editing at once, a rebuild in
 * the middle of a run could pick up someone's half-written file.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const BIN = join(ROOT, 'dist/bin.cjs');
const LOCK = join(ROOT, 'node_modules/.kms-byok-build.lock');

export async function ensureBuilt(): Promise<void> {
  for (let waited = 0; ; waited += 100) {
    if (existsSync(BIN)) return;
    try {
      mkdirSync(LOCK);
    } catch {
      if (waited > 60_000) rmSync(LOCK, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    try {
      if (!existsSync(BIN)) execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'pipe' });
      return;
    } finally {
      rmSync(LOCK, { recursive: true, force: true });
    }
  }
}

/**
 * Runs the built CLI in its own process and collects its output. Asynchronous, so an emulator that
 * answers it may run in the calling process.
 */
export function spawnBuilt(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', rej);
    child.on('close', (code) => res({ code: code ?? -1, stdout, stderr }));
  });
}
