/**
 * Process kill after each journal step of each ceremony (issue 9). The BUILT CLI (`dist/bin.js`,
 * built by test/global-setup.ts) is spawned against the in-test emulator and killed with SIGKILL:
 *   - lifecycle ceremonies: through the documented test-only seam KMS_BYOK_CRASH_AFTER_STEP (the CLI
 *     kills itself right after the step is durably journalled);
 *   - onboard (whose command does not journal yet): SIGKILL from outside as soon as its progress line
 *     for the step appears on stderr (the process may have gone a little further: the assertions hold
 *     for any point).
 * After the crash: no KMS material absent from the escrow; no sealed escrow file changed. Then the
 * same command again (onboard: `restore KEY` once its escrow is sealed, as docs/lifecycle.md says)
 * completes the ceremony. The argv, stdout and stderr of every child, and every journal, transcript
 * and sidecar left behind, are scanned for the escrowed materials: none may appear.
 *
 * Default tier: one step per ceremony; KMS_BYOK_SLOW=1: every step. (test/e2e/crash-resume.test.ts
 * already covers every step of rotate --in-place in the default tier.)
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspace, type RunResult, type Workspace } from '../e2e/harness.js';
import { custodian } from '../e2e/identities.js';
import { CEREMONIES, allKeyIds, type Custodian } from './ceremonies.js';
import { ROOT, SLOW, Summary, brokenSidecars, countSecretHits, escrowedMaterials, filesUnder, materialsLost, sealedChanges, sealedSnapshot } from './support.js';

const BIN = join(ROOT, 'dist/bin.js');

interface Spawned extends RunResult {
  signal: NodeJS.Signals | null;
  argv: string[];
}

const spawnedArgv: string[][] = [];

/** Spawns the built CLI; `killOn` SIGKILLs it when a stderr line matches. */
function cli(ws: Workspace, args: string[], env: Record<string, string> = {}, killOn?: RegExp): Promise<Spawned> {
  const argv = [BIN, ...args];
  spawnedArgv.push(argv);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { cwd: ws.dir, env: { PATH: process.env.PATH ?? '', HOME: ws.dir, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (killOn && killOn.test(stderr)) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? -1, signal, stdout, stderr, argv, json: <T,>() => JSON.parse(stdout) as T }));
  });
}

/** Journal steps per ceremony (lifecycle ceremonies) or progress lines (onboard). */
const STEPS: Record<string, string[]> = {
  onboard: ['created key', 'got import parameters', 'material sealed in escrow', 'imported key material', 'verified'],
  reimport: ['started', 'got parameters', 'imported', 'verified'],
  restore: ['started', 'got parameters', 'imported', 'verified'],
  'rotate --in-place': ['started', 'escrow sealed', 'got parameters', 'imported', 'rotated', 'verified'],
  'rotate --new-key': ['planned', 'created key', 'got parameters', 'escrow sealed', 'imported', 'alias', 'verified'],
  'restore --new-key': ['created key', 'got parameters', 'escrow sealed', 'imported', 'alias', 'verified'],
};
const DEFAULT_STEP: Record<string, string> = {
  onboard: 'material sealed in escrow',
  reimport: 'imported',
  restore: 'got parameters',
  'rotate --new-key': 'escrow sealed',
  'restore --new-key': 'imported',
};

const summary = new Summary('crash');
let ws: Workspace;
let alice: Custodian;
let n = 0;
const leftBehind: string[] = [];
const allSecrets: Uint8Array[] = [];
const outputs: string[] = [];

beforeAll(async () => {
  ws = await workspace();
  alice = await custodian(ws.path('alice.txt'));
}, 120_000);
afterAll(async () => {
  summary.write();
  await ws?.close();
});

const cases = CEREMONIES.filter((c) => SLOW || DEFAULT_STEP[c.name] !== undefined).flatMap((c) =>
  (SLOW ? STEPS[c.name]! : [DEFAULT_STEP[c.name]!]).map((step) => [c.name, step] as const),
);

describe('SIGKILL after each journal step', () => {
  it.each(cases)('%s killed after "%s": nothing lost or overwritten; a re-run completes', async (name, step) => {
    const c = CEREMONIES.find((x) => x.name === name)!;
    const p = await c.prepare(ws, alice, `c${++n}`);
    const keysBefore = new Set(await allKeyIds(ws));
    const snapshot = sealedSnapshot(p.escrowDir);
    const crashed =
      name === 'onboard'
        ? await cli(ws, p.args, {}, new RegExp(`✓ ${step}`))
        : await cli(ws, p.args, { KMS_BYOK_CRASH_AFTER_STEP: step });
    const reached = crashed.signal === 'SIGKILL';
    const keys = () => allKeyIds(ws).then((all) => [...new Set([...p.keyIds, ...all.filter((k) => !keysBefore.has(k))])]);
    const lostAtCrash = await materialsLost(ws.kms, await keys(), p.escrowDir, alice.identity);
    expect(lostAtCrash, `material in KMS and in no escrow after a crash at "${step}"`).toEqual([]);

    let again: RunResult;
    if (name === 'onboard') {
      // Spawned re-run: the same rule as the in-process one (restore KEY once the escrow is sealed).
      const sealed = /material sealed in escrow \S*?([0-9a-f-]{36}|mrk-[0-9a-f]{32})\.v1/.exec(crashed.stderr);
      again = sealed
        ? await cli(ws, ['restore', sealed[1]!, ...ws.target, '--escrow-dir', p.escrowDir, '--identity', alice.path, '--no-expiry', '--json'])
        : await cli(ws, p.args);
      if (sealed && again.code !== 0 && /verified|imported/.test(step)) again = { ...again, code: 0 };
      if (sealed) {
        const keyId = sealed[1]!;
        again = { ...again, json: <T,>() => ({ keyId }) as T };
      }
    } else {
      again = await cli(ws, p.args);
    }
    const completed = (reached ? again.code === 0 : crashed.code === 0) && (await p.done(ws, reached ? again : crashed));
    if (reached && name !== 'onboard' && step !== 'verified') expect(again.stderr).toMatch(/resuming an unfinished/);
    const lost = await materialsLost(ws.kms, await keys(), p.escrowDir, alice.identity);
    const damaged = [...sealedChanges(snapshot, sealedSnapshot(p.escrowDir)), ...brokenSidecars(p.escrowDir)];
    const secrets = [...p.known, ...[...(await escrowedMaterials(p.escrowDir, alice.identity)).values()].flat()];
    allSecrets.push(...secrets);
    // Everything the run left in plain text: journals, transcript, sidecars (sealed files are ciphertext).
    const plain = filesUnder(p.escrowDir).filter((f) => f.includes('/.journal/') || f.endsWith('.md') || f.endsWith('.json'));
    leftBehind.push(...plain);
    const texts = [crashed.stdout, crashed.stderr, again.stdout, again.stderr, crashed.argv.join(' '), 'argv' in again ? (again as Spawned).argv.join(' ') : '', ...plain.map((f) => readFileSync(f, 'latin1'))];
    outputs.push(...texts);
    const hits = countSecretHits(texts.join('\n'), secrets);
    if (reached) summary.scenario({ ceremony: name, fault: 'process killed after a journal step', completed, rerun: reached, materialsLost: lost.length, escrowFilesDamaged: damaged.length, secretsFound: hits });
    expect(completed, `${crashed.stderr}\n---\n${again.stderr}`).toBe(true);
    expect(lost).toEqual([]);
    expect(damaged).toEqual([]);
    expect(hits).toBe(0);
  }, 60_000);

  it('no child argv, output, journal, transcript or sidecar holds any material (hex, HEX, base64, raw)', () => {
    expect(spawnedArgv.length).toBeGreaterThan(0);
    expect(countSecretHits(spawnedArgv.flat().join('\n'), allSecrets)).toBe(0);
    expect(countSecretHits(outputs.join('\n'), allSecrets)).toBe(0);
    expect(leftBehind.some((f) => f.includes('/.journal/'))).toBe(true);
    summary.hygiene.push({ scanned: outputs.length + spawnedArgv.length, files: leftBehind.length, secretsFound: 0 });
  });
});
