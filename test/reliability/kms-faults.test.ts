/**
 * KMS faults at every step of every ceremony (docs/reliability.md). For each ceremony, a clean baseline run
 * tells which KMS operations it calls; then each operation in turn gets each fault:
 * ThrottlingException, bare HTTP 500, KMSInternalException (each on every SDK attempt, so the
 * ceremony fails), latency beyond the SDK's request timeout (the request is done anyway, late), a
 * connection dropped before the request is handled, and dropped AFTER it was handled (the import may
 * have happened; once — the SDK resends — and on every attempt — the ceremony fails).
 *
 * Afterwards: the ceremony completed, or re-running the same command (faults cleared) completes it;
 * KMS holds no material that no escrow holds; no sealed escrow file changed or vanished and every
 * sidecar parses; stdout/stderr hold no form of any escrowed material.
 *
 * The air-gapped import's operations are those of its online commands (`onboard --export-parameters`,
 * `import`); a fault there leaves what the re-run continues from (ceremonies.ts). A fleet run makes 8
 * attempts per call, 16 when throttled (its limiter retries; the SDK's retries are off): "every attempt" is 8 (16) there, and its
 * faults hit one Region only (us-east-1: one key of the plan fails, the others finish; `--resume` finishes it).
 *
 * The SDK's request timeout is lowered to 4 s for this file only (a mock of the adapter's
 * options), so "latency beyond the timeout" costs seconds, not minutes. Default tier: ImportKeyMaterial
 * with KMSInternalException and drop-after on every attempt (air-gapped: drop-after; fleet:
 * KMSInternalException); KMS_BYOK_SLOW=1: every operation the ceremony calls × every fault.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { run } from '../e2e/harness.js';
import { CEREMONIES, allKeyIds, describeFailure, perform, settle } from './ceremonies.js';
import { SLOW, reliabilityWorkspace, sealedSnapshot } from './support.js';

// Long enough for an RSA-4096 unwrap in the emulator on a loaded 2-core machine (no race with the clock).
const REQUEST_TIMEOUT_MS = 4_000;
vi.mock('../../src/kms/aws.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/kms/aws.js')>();
  return { ...original, createAwsKms: (o: Parameters<typeof original.createAwsKms>[0]) => original.createAwsKms({ ...o, requestTimeoutMs: o.requestTimeoutMs ?? REQUEST_TIMEOUT_MS }) };
});
// Fleet runs retry each call up to 8 times with exponential backoff and full jitter (up to 100 ms·2ⁿ):
// ~6 s per failed call on average. The jitter is drawn small here (this file only), so a fault on
// every attempt costs well under a second; the attempts and their order are unchanged.
vi.mock('../../src/fleet/limiter.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/fleet/limiter.js')>();
  return { ...original, limitKms: (port: Parameters<typeof original.limitKms>[0], o: Parameters<typeof original.limitKms>[1]) => original.limitKms(port, { ...o, random: () => 0.05 }) };
});

interface FaultCase {
  label: string;
  kind: 'throttle' | 'http500' | 'internal' | 'latency' | 'drop-before' | 'drop-after';
  /** On every attempt of the call (so the call fails), or once (the retry gets through). */
  every: boolean;
  delayMs?: number;
}

// A fault on every attempt fails the call: 3 for the adapter's SDK client, 8 for a fleet's limiter
// (`Prepared.attempts`), 16 when the fault is throttling (`Prepared.throttledAttempts`).
const FAULTS: FaultCase[] = [
  { label: 'KMS ThrottlingException', kind: 'throttle', every: true },
  { label: 'KMS HTTP 500', kind: 'http500', every: true },
  { label: 'KMS KMSInternalException', kind: 'internal', every: true },
  { label: 'latency beyond the SDK timeout', kind: 'latency', every: true, delayMs: 5_000 },
  { label: 'connection dropped before the request', kind: 'drop-before', every: true },
  { label: 'connection dropped after the request (once)', kind: 'drop-after', every: false },
  { label: 'connection dropped after the request (every attempt)', kind: 'drop-after', every: true },
];

// Default tier (part of `npm test`): the import, with the faults that matter most there.
const DEFAULT_OPS = new Set(['ImportKeyMaterial']);
// Ceremonies that import nothing: their one mutating call.
const DEFAULT_OPS_OF: Record<string, Set<string>> = { revoke: new Set(['DeleteImportedKeyMaterial']) };
const DEFAULT_FAULTS = new Set(['KMS KMSInternalException', 'connection dropped after the request (every attempt)']);

// Default tier, for the ceremonies added later (air-gapped, fleet): one fault, to stay within budget.
const DEFAULT_FAULTS_OF: Record<string, Set<string>> = {
  'air-gapped import': new Set(['connection dropped after the request (every attempt)']),
  'reimport --plan': new Set(['KMS KMSInternalException']),
};

const R = reliabilityWorkspace('kms-faults');

/** KMS operations a clean run of `ceremony` calls (in order of first use). */
async function baselineOps(ceremonyIndex: number): Promise<string[]> {
  const { ws, alice } = R;
  const c = CEREMONIES[ceremonyIndex]!;
  const p = await c.prepare(ws, alice, R.tag('base-'));
  const from = ws.emu.requests.length;
  const r = await perform(p);
  // The ceremony's requests only (done() below asks KMS too).
  const ops = [...new Set(ws.emu.requests.slice(from).map((q) => q.operation))];
  expect(r.code, r.stderr).toBe(0);
  expect(await p.done(ws, r)).toBe(true);
  return ops;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(CEREMONIES.map((c, i) => [c.name, i] as const))('%s under KMS faults', (name, index) => {
  let ops: string[] = [];
  beforeAll(async () => {
    ops = await baselineOps(index);
  }, 60_000);

  it('every operation × fault: completed or completed by a re-run; nothing lost, nothing overwritten, nothing leaked', async () => {
    const { ws, alice, summary } = R;
    const chosen = SLOW ? ops : ops.filter((o) => (DEFAULT_OPS_OF[name] ?? DEFAULT_OPS).has(o));
    expect(chosen.length).toBeGreaterThan(0);
    const faults = SLOW ? FAULTS : FAULTS.filter((x) => (DEFAULT_FAULTS_OF[name] ?? DEFAULT_FAULTS).has(x.label));
    const failures: string[] = [];
    for (const op of chosen) {
      for (const f of faults) {
        const p = await CEREMONIES[index]!.prepare(ws, alice, R.tag('k'));
        const before = { keys: new Set(await allKeyIds(ws)), sealed: sealedSnapshot(p.escrowDir) };
        const times = f.every ? (f.kind === 'throttle' ? (p.throttledAttempts ?? p.attempts ?? 3) : (p.attempts ?? 3)) : 1;
        ws.emu.faults.clear();
        ws.emu.faults.add({ operation: op, kind: f.kind, times, ...(f.delayMs ? { delayMs: f.delayMs } : {}), ...(p.faultRegion ? { region: p.faultRegion } : {}) });
        const first = await perform(p);
        const fired = ws.emu.faults.list()[0]?.fired ?? 0;
        ws.emu.faults.clear();
        // A late request (latency past the timeout) is still done by KMS: let it land before judging.
        if (f.kind === 'latency') await sleep(f.delayMs! + 200);
        const j = await settle(ws, alice, p, before, first);
        summary.scenario({ ceremony: name, fault: f.label, completed: j.completed, rerun: j.again !== undefined, materialsLost: j.lost.length, escrowFilesDamaged: j.damaged.length, secretsFound: j.secretsFound });
        // The fault must have hit the run (every operation here was called by the clean baseline).
        if (fired === 0) failures.push(`${op} ${f.label}: the fault never fired`);
        if (!j.completed || j.lost.length || j.damaged.length || j.secretsFound || j.manners) failures.push(describeFailure(`${op} ${f.label}`, first, j));
      }
    }
    expect(failures, failures.join('\n')).toEqual([]);
  }, SLOW ? 900_000 : 120_000);
});

describe('a KMS that does not answer in time', () => {
  // Found by this suite: the adapter set `requestTimeout` without `throwOnRequestTimeout`, so
  // @smithy/node-http-handler only warned and kept waiting — a hung KMS hung the CLI. Fixed in
  // src/kms/aws.ts; --read-timeout makes the wait short enough to test.
  it('gives up after the SDK timeout and its retries instead of waiting for the answer', async () => {
    const { ws, alice } = R;
    const p = await CEREMONIES[0]!.prepare(ws, alice, R.tag('t'));
    ws.emu.faults.add({ operation: 'CreateKey', kind: 'latency', times: 3, delayMs: 3_000 });
    const started = Date.now();
    const r = await run([...p.args, '--read-timeout', '0.4']);
    const elapsed = Date.now() - started;
    ws.emu.faults.clear();
    await sleep(3_200);
    expect(r.code).toBe(1);
    expect(elapsed).toBeLessThan(2_900);
  }, 30_000);
});
