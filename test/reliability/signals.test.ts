/**
 * SIGINT and SIGTERM at each step of `onboard`, `rotate --in-place` and a fleet run (`reimport
 * --plan`), delivered to the BUILT CLI (docs/reliability.md, "Signals"):
 *   - onboard and rotate: a preloaded test hook (signal-after-line.mjs) sends the signal right after
 *     the process writes the step's progress line (`✓ …`), as a user pressing Ctrl-C on seeing it;
 *   - the fleet run (whose keys print no progress lines): the test sends the signal when the in-test
 *     emulator receives the step's request (the run is then waiting for that answer).
 * Each interrupted run must exit 130 (SIGINT) or 143 (SIGTERM) with "interrupted by SIG…" and a hint
 * naming the command that finishes it — the same argv, plus --resume for a fleet — and lose nothing
 * (every material in KMS is in an escrow). Then the hint's command is run and the end state is read
 * from KMS: keys Enabled, the expected materials, `verify` exits 0, and KMS holds exactly the keys
 * the ceremonies made.
 *
 * Default tier: every step of onboard, two steps each of rotate and the fleet run (marked `tier`), the
 * signal alternating SIGINT/SIGTERM by step; KMS_BYOK_SLOW=1 (`npm run test:faults`): every step, both signals.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CEREMONIES, allKeyIds, type Prepared } from './ceremonies.js';
import { ROOT, SLOW, kmsMaterialIds, materialsLost, reliabilityWorkspace } from './support.js';
import { cli, shellSplit, type Spawned } from './spawn.js';

const HOOK = join(ROOT, 'test/reliability/signal-after-line.mjs');
type Sig = 'SIGINT' | 'SIGTERM';
const EXIT: Record<Sig, number> = { SIGINT: 130, SIGTERM: 143 };

/**
 * The steps: a progress line (hook) or the nth request of an operation received by the emulator
 * (fleet). `last` marks the step after which nothing is left to stop: the run may complete (exit 0).
 */
interface Step {
  label: string;
  line?: string;
  request?: { operation: string; nth: number };
  last?: boolean;
  /** In the default tier (onboard: every step). */
  tier?: boolean;
}
const STEPS: Record<string, Step[]> = {
  onboard: [
    { label: 'created key', line: 'created key' },
    { label: 'got import parameters', line: 'got import parameters' },
    { label: 'material sealed in escrow', line: 'material sealed in escrow' },
    { label: 'imported key material', line: 'imported key material' },
    // The first "verified" line is followed by the re-import proof: still KMS calls to stop.
    { label: 'verified (round trip)', line: 'verified: key Enabled' },
  ],
  'rotate --in-place': [
    { label: 'rotations left', line: 'key \\S+: \\d+ of \\d+ on-demand rotations left' },
    { label: 'new material sealed', line: 'new material sealed in escrow', tier: true },
    { label: 'got import parameters', line: 'got import parameters' },
    { label: 'imported new key material', line: 'imported new key material', tier: true },
    { label: 'RotateKeyOnDemand', line: 'RotateKeyOnDemand: ' },
    { label: 'verified', line: 'verified: ', last: true },
  ],
  'reimport --plan': [
    { label: 'first GetParametersForImport', request: { operation: 'GetParametersForImport', nth: 1 } },
    { label: 'first ImportKeyMaterial', request: { operation: 'ImportKeyMaterial', nth: 1 }, tier: true },
    { label: 'second ImportKeyMaterial', request: { operation: 'ImportKeyMaterial', nth: 2 }, tier: true },
    // The last key's first request: no key is left to start, and keys in flight are let finish.
    { label: 'third GetParametersForImport', request: { operation: 'GetParametersForImport', nth: 3 }, last: true },
  ],
};

const R = reliabilityWorkspace('signals');

const cases = Object.entries(STEPS).flatMap(([name, all]) => {
  const steps = SLOW || name === 'onboard' ? all : all.filter((s) => s.tier);
  return steps.flatMap((step, i) => (SLOW ? (['SIGINT', 'SIGTERM'] as const) : [i % 2 === 0 ? 'SIGINT' : 'SIGTERM'] as const).map((sig) => [name, step.label, sig] as const));
});

/** The interrupted run of one case, shared with the onboard re-run test below. */
const interrupted = new Map<string, { p: Prepared; first: Spawned; keysBefore: Set<string>; createdByFirst: string[] }>();

/** Runs the ceremony and signals it at the step. */
async function interrupt(name: string, step: Step, sig: Sig): Promise<{ p: Prepared; first: Spawned; keysBefore: Set<string> }> {
  const { ws, alice } = R;
  const c = CEREMONIES.find((x) => x.name === name)!;
  const p = await c.prepare(ws, alice, R.tag('s'));
  const keysBefore = new Set(await allKeyIds(ws));
  let first: Spawned;
  if (step.line) {
    first = await cli(ws, p.args, { node: ['--import', HOOK], env: { KMS_BYOK_TEST_SIGNAL_AFTER: `^kms-byok: ✓ ${step.line}`, KMS_BYOK_TEST_SIGNAL: sig } });
  } else {
    // The emulator runs in this process: signal the child as the step's request arrives.
    const registry = ws.emu.faults as unknown as { select(operation: string, region: string): unknown };
    const select = registry.select.bind(registry);
    let seen = 0;
    let child: { kill(s: Sig): boolean } | undefined;
    registry.select = (operation, region) => {
      if (operation === step.request!.operation && ++seen === step.request!.nth) child?.kill(sig);
      return select(operation, region);
    };
    try {
      first = await cli(ws, p.args, { onSpawn: (c2) => (child = c2) });
    } finally {
      registry.select = select;
    }
  }
  return { p, first, keysBefore };
}

/** The command the interrupted run's hint names. */
function hinted(first: Spawned): string[] {
  const m = /^kms-byok: hint: re-run the same command to finish: kms-byok (.*)$/m.exec(first.stderr);
  expect(m, first.stderr).not.toBeNull();
  return shellSplit(m![1]!);
}

/** `verify KEY` against the workspace emulator, in the key's Region. */
async function verify(p: Prepared, key: string): Promise<Spawned> {
  const region = /^arn:aws:kms:([^:]+):/.exec(key)?.[1] ?? 'us-east-1';
  return cli(R.ws, ['verify', key, '--endpoint-url', R.ws.emu.endpoint, '--region', region, '--escrow-dir', p.escrowDir, '--identity', R.alice.path]);
}

describe('SIGINT and SIGTERM at each step', () => {
  it.each(cases)('%s, %s after "%s": exit 128+n, what is done, the command that finishes it; that command completes', async (name, label, sig) => {
    const step = STEPS[name]!.find((s) => s.label === label)!;
    const { ws, alice } = R;
    const run = await interrupt(name, step, sig);
    const { p, first, keysBefore } = run;
    // Keys the interrupted run itself created (other cases create keys before the onboard re-run below).
    const createdByFirst = (await allKeyIds(ws)).filter((k) => !keysBefore.has(k));
    interrupted.set(`${name}/${label}/${sig}`, { ...run, createdByFirst });
    expect(first.stderr, 'the signal reached the run').toMatch(new RegExp(`kms-byok: note: ${sig} received: stopping at the next safe point`));
    const stopped = first.code === EXIT[sig];
    // Only after the last step may the run have had nothing left to stop.
    if (!stopped) expect(step.last && first.code === 0, `exit ${first.code} after ${sig} at "${label}":\n${first.stderr}`).toBe(true);
    const keys = async () => [...new Set([...p.keyIds, ...(await allKeyIds(ws)).filter((k) => !keysBefore.has(k))])];
    expect(await materialsLost(ws.kms, await keys(), p.escrowDir, alice.identity), 'material in KMS and in no escrow').toEqual([]);
    if (!stopped) {
      expect(await p.done(ws, first), 'a run with nothing left to stop completed').toBe(true);
      return;
    }

    expect(first.stderr).toMatch(new RegExp(`^kms-byok: interrupted by ${sig}: .+`, 'm'));
    expect(first.stderr).toMatch(/^kms-byok: code: ERR_CANCELLED$/m);
    const again = hinted(first);
    expect(again).toEqual(name === 'reimport --plan' ? [...p.args, '--resume'] : p.args);
    if (name === 'onboard') return; // the same onboard again: see the test below

    const rerun = await cli(ws, again);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(await p.done(ws, rerun), 'the end state in KMS').toBe(true);
    for (const key of p.keyIds) {
      const v = await verify(p, key);
      expect(v.code, v.stderr).toBe(0);
    }
    if (name === 'rotate --in-place') expect(await kmsMaterialIds(ws.kms, p.keyIds[0]!)).toHaveLength(2);
    // No ceremony here creates a key: KMS holds exactly the keys it held before.
    expect((await allKeyIds(ws)).filter((k) => !keysBefore.has(k))).toEqual([]);
  }, 90_000);
});

describe('an onboard interrupted by a signal, run again unchanged', () => {
  // Re-running the same `onboard` after an interruption finishes the ceremony it started — the same
  // key, the same escrow (docs/lifecycle.md, "Onboard").
  const onboardCases = cases.filter(([name]) => name === 'onboard');
  it.each(onboardCases)('%s, %s after "%s": the same command finishes it with one key', async (name, label, sig) => {
    const { ws } = R;
    const run = interrupted.get(`${name}/${label}/${sig}`);
    expect(run, 'the interrupted run of the test above').toBeDefined();
    const { p, first, createdByFirst } = run!;
    expect(first.code).toBe(EXIT[sig]);
    const beforeRerun = new Set(await allKeyIds(ws));
    const rerun = await cli(ws, hinted(first));
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(await p.done(ws, rerun), 'the key is Enabled').toBe(true);
    const keyId = rerun.json<{ keyId: string }>().keyId;
    expect(await kmsMaterialIds(ws.kms, keyId)).toHaveLength(1);
    const v = await verify(p, keyId);
    expect(v.code, v.stderr).toBe(0);
    const createdByRerun = (await allKeyIds(ws)).filter((k) => !beforeRerun.has(k));
    expect([...new Set([...createdByFirst, ...createdByRerun])], 'one onboard, one key').toEqual([keyId]);
  }, 90_000);
});

describe('a second SIGINT while a call that changes state is in flight', () => {
  it('abandons it, names it and says its outcome is unknown; the hinted re-run finishes the rotation', async () => {
    const { ws, alice } = R;
    const p = await CEREMONIES.find((x) => x.name === 'rotate --in-place')!.prepare(ws, alice, R.tag('a'));
    // The import takes 3 s in the emulator (which imports it anyway: the answer is what gets lost).
    const fault = ws.emu.faults.add({ operation: 'ImportKeyMaterial', kind: 'latency', delayMs: 3000, times: 1 });
    const registry = ws.emu.faults as unknown as { select(operation: string, region: string): unknown };
    const select = registry.select.bind(registry);
    let child: import('node:child_process').ChildProcess | undefined;
    let firstSent = false;
    registry.select = (operation, region) => {
      if (operation === 'ImportKeyMaterial' && !firstSent) {
        firstSent = true;
        child?.kill('SIGINT');
      }
      return select(operation, region);
    };
    let first: Spawned;
    try {
      first = await cli(ws, p.args, {
        onSpawn: (c) => {
          child = c;
          let err = '';
          let secondSent = false;
          // The second Ctrl-C once the first is acknowledged (two signals sent at once may merge into one).
          c.stderr!.on('data', (d: Buffer) => {
            err += d.toString();
            if (!secondSent && /note: SIGINT received/.test(err)) {
              secondSent = true;
              c.kill('SIGINT');
            }
          });
        },
      });
    } finally {
      registry.select = select;
      ws.emu.faults.remove(fault.id);
    }
    expect(first.code, first.stderr).toBe(130);
    expect(first.stderr).toMatch(/^kms-byok: warning: abandoning ImportKeyMaterial on key \S+ in flight: its outcome is unknown until KMS is asked; re-run the same command, it asks KMS first$/m);
    expect(first.stderr).toMatch(/^kms-byok: interrupted by SIGINT: ImportKeyMaterial abandoned in flight by a second SIGINT: its outcome is unknown until KMS is asked/m);
    const again = hinted(first);
    expect(again).toEqual(p.args);
    const rerun = await cli(ws, again);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(await p.done(ws, rerun), 'Enabled with 2 materials').toBe(true);
    const v = await verify(p, p.keyIds[0]!);
    expect(v.code, v.stderr).toBe(0);
  }, 90_000);
});
