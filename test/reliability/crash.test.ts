/**
 * Process kill after each journal step of each ceremony (docs/reliability.md). The BUILT CLI (`dist/bin.cjs`,
 * built by test/global-setup.ts) is spawned against the in-test emulator and killed with SIGKILL:
 *   - onboard and the lifecycle ceremonies: through the journal-step observer (src/records/journal-observer.ts), installed by the preloaded test/support/crash-after-step.mjs
 *     (the CLI kills itself right after the step is durably journalled);
 *   - the air-gapped import (three commands, none journalled): a preloaded test hook
 *     (kill-after-line.mjs) SIGKILLs the command right after it writes the step's progress line;
 *   - a fleet run (`reimport --plan`): each key journals, so the preloaded crash observer kills the whole
 *     run when the first key reaches the step; the re-run is `--resume`.
 * After the crash: no KMS material absent from the escrow; no sealed escrow file changed. Then the
 * same command again completes the ceremony (the air-gapped import: its re-run continues from what the killed command
 * left, see ceremonies.ts). The argv, stdout and stderr of every child, and every journal, transcript
 * and sidecar left behind, are scanned for the escrowed materials: none may appear.
 *
 * Default tier: one step per ceremony; KMS_BYOK_SLOW=1: every step. (test/e2e/crash-resume.test.ts
 * already covers every step of rotate --in-place in the default tier.)
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResult, Workspace } from '../e2e/harness.js';
import { CEREMONIES, allKeyIds, perform, rerun, type Exec } from './ceremonies.js';
import { ROOT, SLOW, brokenSidecars, countSecretHits, escrowedMaterials, filesUnder, materialsLost, reliabilityWorkspace, sealedChanges, sealedSnapshot } from './support.js';

const BIN = join(ROOT, 'dist/bin.cjs');
const KILL_HOOK = join(ROOT, 'test/reliability/kill-after-line.mjs');
const CRASH_HOOK = join(ROOT, 'test/support/crash-after-step.mjs');

interface Spawned extends RunResult {
  signal: NodeJS.Signals | null;
  argv: string[];
}

const spawnedArgv: string[][] = [];

/** Spawns the built CLI; `killOn` SIGKILLs it when a stderr line matches; `node` are node's own flags. */
function cli(ws: Workspace, args: string[], env: Record<string, string> = {}, killOn?: RegExp, node: string[] = []): Promise<Spawned> {
  const argv = [...node, BIN, ...args];
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

/**
 * Where each ceremony is killed: after each journal step (`journal`: the preloaded crash observer), from
 * outside when its progress line appears (`outside`: onboard), or by the preloaded kill hook right
 * after the progress line is written (`hook`: the air-gapped import's three commands, none of which
 * journals — each step is a line `✓ <step>…` of one of them). `default` is the default tier's step.
 */
const KILL: Record<string, { how: 'journal' | 'outside' | 'hook'; steps: string[]; default?: string }> = {
  onboard: { how: 'journal', steps: ['started', 'created key', 'wrapped', 'escrow sealed', 'imported', 'verified'], default: 'escrow sealed' },
  revoke: { how: 'journal', steps: ['started', 'deleted'] },
  'restore --new-key --multi-region': { how: 'journal', steps: ['new key planned', 'created key', 'escrow sealed', 'imported', 'replicated', 'alias', 'verified'] },
  reimport: { how: 'journal', steps: ['started', 'got parameters', 'imported', 'verified'], default: 'imported' },
  restore: { how: 'journal', steps: ['started', 'got parameters', 'imported', 'verified'], default: 'got parameters' },
  'rotate --in-place': { how: 'journal', steps: ['started', 'escrow sealed', 'got parameters', 'imported', 'rotated', 'verified'] },
  'rotate --new-key': { how: 'journal', steps: ['planned', 'created key', 'got parameters', 'escrow sealed', 'imported', 'alias', 'verified'], default: 'escrow sealed' },
  'restore --new-key': { how: 'journal', steps: ['created key', 'got parameters', 'escrow sealed', 'imported', 'alias', 'verified'], default: 'imported' },
  'air-gapped import': {
    how: 'hook',
    steps: ['created key', 'got import parameters', 'wrote the parameters bundle', 'material sealed in escrow', 'wrote the import bundle', 'imported key material', 'recorded the import in the escrow sidecar', 'verified'],
    default: 'material sealed in escrow',
  },
  // Each key journals its own steps; the first key to reach the step takes the whole run down.
  'reimport --plan': { how: 'journal', steps: ['started', 'got parameters', 'imported', 'verified'], default: 'imported' },
};

const R = reliabilityWorkspace('crash');
const leftBehind: string[] = [];
const allSecrets: Uint8Array[] = [];
const outputs: string[] = [];

const cases = CEREMONIES.filter((c) => SLOW || KILL[c.name]?.default !== undefined).flatMap((c) =>
  (SLOW ? KILL[c.name]!.steps : [KILL[c.name]!.default!]).map((step) => [c.name, step] as const),
);

describe('SIGKILL after each journal step', () => {
  it('every ceremony has its kill points', () => {
    for (const c of CEREMONIES) expect(KILL[c.name]?.steps.length, c.name).toBeGreaterThan(0);
  });

  it.each(cases)('%s killed after "%s": nothing lost or overwritten; a re-run completes', async (name, step) => {
    const { ws, alice, summary } = R;
    const c = CEREMONIES.find((x) => x.name === name)!;
    const kill = KILL[name]!;
    const p = await c.prepare(ws, alice, R.tag('c'));
    const keysBefore = new Set(await allKeyIds(ws));
    const snapshot = sealedSnapshot(p.escrowDir);
    const escaped = step.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const killing: Exec =
      kill.how === 'outside'
        ? (args) => cli(ws, args, {}, new RegExp(`✓ ${escaped}`))
        : kill.how === 'hook'
          ? (args) => cli(ws, args, { KMS_BYOK_TEST_KILL_AFTER: `^kms-byok: ✓ ${escaped}` }, undefined, ['--import', KILL_HOOK])
          : (args) => cli(ws, args, { TEST_CRASH_AFTER_STEP: step }, undefined, ['--import', CRASH_HOOK]);
    const crashed = (await perform(p, killing)) as Spawned;
    const reached = crashed.signal === 'SIGKILL';
    const keys = () => allKeyIds(ws).then((all) => [...new Set([...p.keyIds, ...all.filter((k) => !keysBefore.has(k))])]);
    const lostAtCrash = await materialsLost(ws.kms, await keys(), p.escrowDir, alice.identity);
    expect(lostAtCrash, `material in KMS and in no escrow after a crash at "${step}"`).toEqual([]);
    const afterCrash = sealedSnapshot(p.escrowDir);

    let again: RunResult;
    const plain: Exec = (args) => cli(ws, args);
    {
      // The documented re-run: the same command (onboard resumes its journal, docs/lifecycle.md).
      again = await rerun(ws, p, crashed, plain);
    }
    const completed = (reached ? again.code === 0 : crashed.code === 0) && (await p.done(ws, reached ? again : crashed));
    if (reached && kill.how === 'journal' && step !== 'verified') expect(again.stderr).toMatch(p.resumeNote ?? /resuming an unfinished/);
    const lost = await materialsLost(ws.kms, await keys(), p.escrowDir, alice.identity);
    const now = sealedSnapshot(p.escrowDir);
    const damaged = [...new Set([...sealedChanges(snapshot, now), ...sealedChanges(afterCrash, now), ...brokenSidecars(p.escrowDir)])];
    const secrets = [...p.known, ...[...(await escrowedMaterials(p.escrowDir, alice.identity)).values()].flat()];
    allSecrets.push(...secrets);
    // Everything the run left in plain text: journals, transcript, sidecars (sealed files are ciphertext).
    const plainFiles = filesUnder(p.escrowDir).filter((f) => f.includes('/.journal/') || f.endsWith('.md') || f.endsWith('.json'));
    leftBehind.push(...plainFiles);
    const texts = [crashed.stdout, crashed.stderr, again.stdout, again.stderr, crashed.argv.join(' '), 'argv' in again ? (again as Spawned).argv.join(' ') : '', ...plainFiles.map((f) => readFileSync(f, 'latin1'))];
    outputs.push(...texts);
    const hits = countSecretHits(texts.join('\n'), secrets);
    if (reached) summary.scenario({ ceremony: name, fault: 'process killed after a journal step', completed, rerun: reached, materialsLost: lost.length, escrowFilesDamaged: damaged.length, secretsFound: hits });
    // The hook kills deterministically: the step must have been reached.
    if (kill.how !== 'outside') expect(reached, `never killed at "${step}": ${crashed.stderr}`).toBe(true);
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
    R.summary.hygiene.push({ scanned: outputs.length + spawnedArgv.length, files: leftBehind.length, secretsFound: 0 });
  });
});
