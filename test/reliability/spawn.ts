/**
 * Spawns the built CLI (`dist/bin.cjs`, built by test/global-setup.ts) in a workspace, with nothing
 * of the caller's environment but PATH: for tests that need a real process (signals, exit codes).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { RunResult, Workspace } from '../e2e/harness.js';
import { ROOT } from './support.js';

export const BIN = join(ROOT, 'dist/bin.cjs');

export interface Spawned extends RunResult {
  signal: NodeJS.Signals | null;
  argv: string[];
}

/** Runs `node [node…] dist/bin.cjs args…`; `onSpawn` gets the child (e.g. to signal it on an event). */
export function cli(ws: Workspace, args: string[], options: { env?: Record<string, string>; node?: string[]; onSpawn?: (child: ChildProcess) => void } = {}): Promise<Spawned> {
  const argv = [...(options.node ?? []), BIN, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, {
      cwd: ws.dir,
      env: { PATH: process.env.PATH ?? '', HOME: ws.dir, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? -1, signal, stdout, stderr, argv, json: <T,>() => JSON.parse(stdout) as T }));
    options.onSpawn?.(child);
  });
}

/** Splits a command line as printed by kms-byok's hints (words, or POSIX single-quoted words). */
export function shellSplit(line: string): string[] {
  const words: string[] = [];
  const re = /'((?:[^']|'\\'')*)'|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) words.push(m[1] !== undefined ? m[1].replace(/'\\''/g, "'") : m[2]!);
  return words;
}
