/**
 * `--notify-command CMD`: after a ceremony, runs CMD through `sh -c` with one JSON document on stdin
 * (`{ schemaVersion, ceremony, ok, time, result | error }`, docs/json.md — never key material). The ceremony's outcome stands whatever
 * the hook does: a failing, crashing or hanging hook (killed after `timeoutMs`) is reported on stderr
 * as a warning and changes neither the output nor the exit code.
 */
import { spawn } from 'node:child_process';
import { say, type Io } from '../cli/io.js';

export const NOTIFY_TIMEOUT_MS = 30_000;

export interface NotifyDocument {
  schemaVersion: number;
  ceremony: string;
  ok: boolean;
  time: string;
  result?: unknown;
  error?: { code: string; message: string; hint?: string };
}

/** Runs the hook; resolves when it exits or is killed. Never throws. */
export async function notify(io: Io, command: string, doc: NotifyDocument, timeoutMs = NOTIFY_TIMEOUT_MS): Promise<void> {
  const text = `${JSON.stringify(doc, (_k, v: unknown) => (v instanceof Date ? v.toISOString() : v))}\n`;
  await new Promise<void>((resolve) => {
    let settled = false;
    const finish = (problem?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (problem) say(io, 'warning', `--notify-command ${problem}; the ${doc.ceremony} result stands`);
      resolve();
    };
    const child = spawn('sh', ['-c', command], { cwd: io.cwd, env: { ...io.env } as NodeJS.ProcessEnv, stdio: ['pipe', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-500)));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
      finish(`did not finish within ${timeoutMs >= 1000 ? `${Math.round(timeoutMs / 1000)} s` : `${timeoutMs} ms`} and was stopped`);
    }, timeoutMs);
    child.on('error', (e) => finish(`could not start (${e.message})`));
    child.on('exit', (code, signal) => {
      if (code === 0) finish();
      else finish(`failed (${signal ? `signal ${signal}` : `exit ${code}`}${stderr.trim() ? `: ${stderr.trim().split('\n').pop()}` : ''})`);
    });
    child.stdin.on('error', () => {
      /* the hook may exit without reading stdin */
    });
    child.stdin.end(text);
  });
}
