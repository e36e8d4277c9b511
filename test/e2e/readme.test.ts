/**
 * The README works as written: every ```sh block runs, in order, in one fresh directory, after the
 * README's set-up (`npm link`, emulated by a `kms-byok` on the PATH that runs the built dist/bin.cjs)
 * against a KMS emulator given as the README says (`AWS_ENDPOINT_URL_KMS`), so the `--region` of the
 * examples is served by the emulator and nothing reaches AWS. `age-keygen` is the real one (Debian
 * package `age`). A block that cannot run offline is skipped only through {@link SKIPPED}, with its
 * reason; an entry there that matches no block fails the test, and so does any block that fails.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { startTestEmulator } from '../../src/emulator/emulator.test.helpers.js';

const README = fileURLToPath(new URL('../../README.md', import.meta.url));
const BIN = fileURLToPath(new URL('../../dist/bin.cjs', import.meta.url));

/** Blocks that cannot run here, by a line they contain, and why. */
const SKIPPED: { line: string; reason: string }[] = [
  { line: 'npm ci && npm run demo', reason: 'installs dependencies from the npm registry (network)' },
  { line: 'npm ci && npm test', reason: 'installs from the npm registry and runs this very suite' },
];

const blocks = [...readFileSync(README, 'utf8').matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);

let dir: string;
let emu: RunningEmulator;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kms-byok-readme-'));
  mkdirSync(join(dir, 'bin'));
  // What `npm link` puts on the PATH: a kms-byok that runs the built CLI.
  writeFileSync(join(dir, 'bin', 'kms-byok'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} "$@"\n`);
  chmodSync(join(dir, 'bin', 'kms-byok'), 0o755);
  mkdirSync(join(dir, 'work'));
  emu = await startTestEmulator();
});

afterAll(async () => {
  await emu?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('README shell blocks', () => {
  it('the README has blocks, and every skip names one of them', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(5);
    for (const s of SKIPPED) expect(blocks.filter((b) => b.split('\n').some((l) => l.trim() === s.line)).length, s.line).toBe(1);
  });

  it('age-keygen is installed (Debian package age)', () => {
    expect(spawnSync('age-keygen', ['--version']).status, 'install age: apt-get install age').toBe(0);
  });

  blocks.forEach((block, i) => {
    const skip = SKIPPED.find((s) => block.split('\n').some((l) => l.trim() === s.line));
    const title = `block ${i + 1}: ${block.split('\n')[0]!.slice(0, 70)}`;
    if (skip) {
      it.skip(`${title} (skipped: ${skip.reason})`, () => {});
      return;
    }
    it(title, async () => {
      // Asynchronous: the emulator answers from this process's event loop.
      const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', block], {
        cwd: join(dir, 'work'),
        env: {
          PATH: `${join(dir, 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`,
          HOME: dir,
          AWS_ENDPOINT_URL_KMS: emu.endpoint,
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      expect(status, `${block}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`).toBe(0);
    }, 150_000);
  });
});
