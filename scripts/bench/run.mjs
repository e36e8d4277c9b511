#!/usr/bin/env node
// kms-byok benchmarks (issue 8). Run with `npm run bench` (builds dist/ first). Each benchmark prints
// ratios measured in this run; nothing here is asserted by the unit tests. Results: docs/fleet.md.
//
//   1. one onboard ceremony by kms-byok vs the AWS-documented manual procedure (aws CLI + openssl,
//      manual-onboard.sh) against the same emulator: wall-time ratio (goal ≥ 5×)
//   2. reimport --plan of SMALL and LARGE keys over 3 Regions at the emulator's KMS default quotas
//      × BENCH_QUOTA_SCALE: achieved GetParametersForImport rate ÷ quota (goal ≥ 0.9), zero failed
//      keys, and peak RSS at LARGE ÷ peak RSS at SMALL (goal ≤ 1.2), each size in its own process.
//      The emulator unwraps with its `openssl` engine here, so it keeps up with KMS-like rates and the
//      run measures kms-byok, not the emulator's pure-JavaScript RSA (see src/emulator/unwrap.ts).
//   3. CLI cold start (`--help`, `status --json` against the emulator) ÷ `node -e 0` (goal ≤ 3×)
//   4. library load: `import('kms-byok')` (dist/index.js, without the emulator) wall time and peak RSS
//      ÷ `node -e 0`'s, in the same run (reported; the emulator is `kms-byok/emulator`)
//
// Sizes: BENCH_CONCURRENCY (default 12, keys in flight per Region), BENCH_SMALL (default 100),
// BENCH_LARGE (default 1000), BENCH_REPEAT (default 3: runs of each size, medians reported), BENCH_ONLY (e.g. 2: run only benchmark 2), BENCH_CPU_PROF (a directory:
// CPU profiles of the reimport runs, for `node --cpu-prof`), BENCH_HEAP_PROF (the same with `--heap-prof`), BENCH_QUOTA_SCALE (default 20: AWS's quotas × 20, GetParametersForImport
// 20/s per Region, as issue 8 suggests, so 1,000 keys take under a minute rather than 5.5 minutes).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateIdentity, identityToRecipient } from 'age-encryption';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { startEmulator, KMS_DEFAULT_QUOTAS } = await import('../../dist/emulator/index.js');
const { createFleet } = await import('./fleet-fixture.mjs');

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'dist/bin.js');
const RSS = join(ROOT, 'scripts/bench/cli-rss.mjs');
const SMALL = Number(process.env.BENCH_SMALL ?? 100);
const LARGE = Number(process.env.BENCH_LARGE ?? 1000);
const SCALE = Number(process.env.BENCH_QUOTA_SCALE ?? 20);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);
const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2'];
const ENV = { PATH: process.env.PATH, HOME: process.env.HOME ?? tmpdir(), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
const t0 = performance.now();
const work = mkdtempSync(join(tmpdir(), 'kms-byok-bench-'));

function wrappingKeys() {
  const read = (bits) => ['a', 'b'].map((s) => readFileSync(join(ROOT, `fixtures/wrapping-keys/TEST-ONLY-rsa-${bits}-${s}.pem`), 'utf8'));
  return { RSA_2048: read(2048), RSA_3072: read(3072), RSA_4096: read(4096) };
}
// BENCH_ONLY=2 (or 1,3): run only those benchmarks, to iterate on one.
const selected = (n) => !process.env.BENCH_ONLY || process.env.BENCH_ONLY.split(',').includes(String(n));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function timeAsync(cmd, args, env) {
  return new Promise((resolve, reject) => {
    const s = performance.now();
    const c = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d) => (err += d));
    c.stdout.resume();
    c.on('exit', (code) => (code === 0 || code === 3 ? resolve(performance.now() - s) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

const identity = await generateIdentity();
const recipient = await identityToRecipient(identity);
writeFileSync(join(work, 'alice.txt'), `${identity}\n`, { mode: 0o600 });
const results = [];

// ---------------------------------------------------------------------------------------------
// 1. onboard vs the manual procedure
if (selected(1)) {
  // Both procedures import into the same emulator; its openssl engine keeps the emulator's own
  // RSA-4096 unwrap (~0.2 s in node-forge, paid equally by both) from diluting the comparison.
  const emu = await startEmulator({ wrappingKeys: wrappingKeys(), unwrapEngine: 'openssl' });
  const env = { ...ENV, AWS_ACCESS_KEY_ID: 'AKIDBENCH', AWS_SECRET_ACCESS_KEY: 'bench', AWS_EC2_METADATA_DISABLED: 'true' };
  const manual = [];
  const ours = [];
  for (let i = 0; i < 3; i++) {
    const dir = mkdtempSync(join(work, 'manual-'));
    // Async: the emulator answers from this process's event loop.
    manual.push(await timeAsync('sh', [join(ROOT, 'scripts/bench/manual-onboard.sh'), emu.endpoint, 'us-east-1', dir], env));
    ours.push(await timeAsync(process.execPath, [BIN, 'onboard', '--endpoint-url', emu.endpoint, '--region', 'us-east-1', '--yes', '--json', '--recipient', recipient, '--escrow-dir', join(work, `onboard-${i}`), '--expires-in', '90d'], ENV));
  }
  await emu.close();
  const ratio = median(manual) / median(ours);
  results.push(['1. onboard: manual (aws CLI + openssl) ÷ kms-byok wall time', `${median(manual).toFixed(0)} ms ÷ ${median(ours).toFixed(0)} ms = ${ratio.toFixed(2)}×`, 'goal ≥ 5×', ratio >= 5]);
  console.error(`bench 1 done: manual ${manual.map((x) => x.toFixed(0)).join(', ')} ms; kms-byok ${ours.map((x) => x.toFixed(0)).join(', ')} ms`);
}

// ---------------------------------------------------------------------------------------------
// 2. reimport --plan within quotas
if (selected(2)) {
  const state = join(work, 'kms-state.json');
  const fixture = await startEmulator({ wrappingKeys: wrappingKeys(), stateFile: state, unwrapEngine: 'openssl' });
  const f0 = performance.now();
  const keys = await createFleet(fixture.endpoint, work, recipient, REGIONS, LARGE);
  await fixture.close();
  console.error(`bench 2 fixture: ${keys.length} keys with escrows in ${((performance.now() - f0) / 1000).toFixed(1)} s`);
  const quota = KMS_DEFAULT_QUOTAS.GetParametersForImport * SCALE;
  // Each size runs REPEAT times, alternating, in its own process; medians are reported (a single
  // run's peak RSS moves by ±10% with how far V8 lets the heap grow before collecting).
  for (const n of [SMALL, LARGE]) {
    writeFileSync(join(work, `plan-${n}.json`), JSON.stringify({ version: 1, defaults: { escrowDir: 'escrow', identity: 'alice.txt', expiresIn: '90d' }, keys: keys.slice(0, n).map((k) => ({ key: k.keyId, region: k.region })) }));
  }
  const runs = { [SMALL]: [], [LARGE]: [] };
  // One more run per size (i === REPEAT) forces a full GC every second, to report the heap a run
  // retains (what must stay flat) apart from the garbage V8 lets accumulate; it counts for nothing else.
  const retained = {};
  for (let i = 0; i <= REPEAT; i++) for (const n of [SMALL, LARGE]) {
    const gcRun = i === REPEAT;
    const plan = join(work, `plan-${n}.json`);
    const emu = await startEmulator({ wrappingKeys: wrappingKeys(), stateFile: state, saveState: false, quotas: 'default', quotaScale: SCALE, wrappingKeyPoolSize: 4, unwrapEngine: 'openssl' });
    const rssFile = join(work, `rss-${n}-${i}`);
    const times = [];
    let seen = 0;
    const sampler = setInterval(() => {
      for (; seen < emu.requests.length; seen++) {
        const r = emu.requests[seen];
        if (r.operation === 'GetParametersForImport' && !r.throttledByQuota && r.status === 200) times.push(performance.now());
      }
    }, 5);
    const s = performance.now();
    const child = await new Promise((resolve) => {
      const c = spawn(process.execPath, [...(gcRun ? ['--expose-gc'] : []), ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : []), ...(process.env.BENCH_HEAP_PROF ? ['--heap-prof', '--heap-prof-dir', process.env.BENCH_HEAP_PROF] : []), RSS, 'reimport', '--plan', plan, '--endpoint-url', emu.endpoint, '--rate-scale', String(SCALE), '--concurrency', String(process.env.BENCH_CONCURRENCY ?? 12), '--json', '--progress-interval', '30'], {
        env: { ...ENV, KMS_BYOK_BENCH_RSS_FILE: rssFile, ...(gcRun ? { KMS_BYOK_BENCH_GC: '1' } : {}) },
        cwd: work,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      c.stdout.on('data', (d) => (stdout += d));
      c.stderr.on('data', (d) => (stderr += d));
      c.on('exit', (status) => resolve({ status, stdout, stderr }));
    });
    const wall = performance.now() - s;
    await new Promise((r) => setTimeout(r, 20));
    clearInterval(sampler);
    const throttled = emu.requests.filter((r) => r.throttledByQuota).length;
    const perOperation = {};
    for (const r of emu.requests) perOperation[r.operation] = (perOperation[r.operation] ?? 0) + 1;
    await emu.close();
    if (child.status !== 0 && child.status !== 1) throw new Error(`reimport --plan ${n} exited ${child.status}: ${child.stderr}`);
    const report = JSON.parse(child.stdout);
    // Achieved rate: GetParametersForImport admitted per second over the span they were sent in, per Region.
    const span = (times[times.length - 1] - times[0]) / 1000;
    const achieved = (times.length - REGIONS.length) / span / REGIONS.length; // n-1 intervals per Region
    const usage = JSON.parse(readFileSync(rssFile, 'utf8'));
    if (gcRun) {
      retained[n] = usage.peak.retained;
      console.error(`bench 2 reimport --plan ${n} (forced-GC run): ${report.summary.ok} ok, ${report.summary.failed} failed, retained V8 heap (peak after full GCs) ${(usage.peak.retained / 2 ** 20).toFixed(1)} MiB`);
      continue;
    }
    const run = { rss: usage.maxRSS, cpuPerKey: usage.cpuMicros / 1000 / n, achieved, failed: report.summary.failed, throttled };
    runs[n].push(run);
    console.error(`bench 2 reimport --plan ${n} (run ${i + 1}/${REPEAT}): ${report.summary.ok} ok, ${report.summary.failed} failed, ${throttled} throttled by the emulator, ${(wall / 1000).toFixed(1)} s, GetParametersForImport ${achieved.toFixed(3)}/s per Region (quota ${quota}), peak RSS ${(run.rss / 1024).toFixed(1)} MiB (V8 heap used ${(usage.peak.heapUsed / 2 ** 20).toFixed(1)} of ${(usage.peak.heapTotal / 2 ** 20).toFixed(1)} MiB, external ${(usage.peak.external / 2 ** 20).toFixed(1)} MiB), CLI CPU ${run.cpuPerKey.toFixed(1)} ms per key; requests ${Object.entries(perOperation).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }
  const sum = (xs) => xs.reduce((a, b) => a + b, 0);
  for (const n of [SMALL, LARGE]) {
    const achieved = median(runs[n].map((r) => r.achieved));
    const failed = sum(runs[n].map((r) => r.failed));
    const throttled = sum(runs[n].map((r) => r.throttled));
    results.push([`2. reimport --plan ${n} keys / 3 Regions: achieved GetParametersForImport rate ÷ quota (median of ${REPEAT})`, `${achieved.toFixed(3)} ÷ ${quota} = ${(achieved / quota).toFixed(3)} (${failed} failed keys, ${throttled} throttled requests in all runs)`, 'goal ≥ 0.9, 0 failed', achieved / quota >= 0.9 && failed === 0]);
  }
  const [large, small] = [LARGE, SMALL].map((n) => median(runs[n].map((r) => r.rss)));
  const rr = large / small;
  results.push([`2. peak RSS at ${LARGE} keys ÷ at ${SMALL} keys (medians of ${REPEAT})`, `${(large / 1024).toFixed(1)} MiB ÷ ${(small / 1024).toFixed(1)} MiB = ${rr.toFixed(3)}`, 'goal ≤ 1.2', rr <= 1.2]);
  results.push([`2. (diagnostic) retained V8 heap at ${LARGE} keys ÷ at ${SMALL} keys (peak after forced full GCs)`, `${(retained[LARGE] / 2 ** 20).toFixed(1)} MiB ÷ ${(retained[SMALL] / 2 ** 20).toFixed(1)} MiB = ${(retained[LARGE] / retained[SMALL]).toFixed(3)}`, 'flat: ≤ 1.2', retained[LARGE] / retained[SMALL] <= 1.2]);
}

// ---------------------------------------------------------------------------------------------
// 3. cold start
if (selected(3)) {
  const emu = await startEmulator({ wrappingKeys: wrappingKeys() });
  const node = [];
  const help = [];
  const status = [];
  for (let i = 0; i < 7; i++) {
    node.push(await timeAsync(process.execPath, ['-e', '0'], ENV));
    help.push(await timeAsync(process.execPath, [BIN, '--help'], ENV));
    status.push(await timeAsync(process.execPath, [BIN, 'status', '--json', '--endpoint-url', emu.endpoint, '--region', 'us-east-1', '--escrow-dir', join(work, 'escrow')], ENV));
  }
  await emu.close();
  const n = median(node);
  results.push(['3. cold start: kms-byok --help ÷ node -e 0', `${median(help).toFixed(0)} ms ÷ ${n.toFixed(0)} ms = ${(median(help) / n).toFixed(2)}×`, 'goal ≤ 3×', median(help) / n <= 3]);
  results.push(['3. cold start: kms-byok status --json (emulator) ÷ node -e 0', `${median(status).toFixed(0)} ms ÷ ${n.toFixed(0)} ms = ${(median(status) / n).toFixed(2)}×`, 'goal ≤ 3×', median(status) / n <= 3]);
}

// ---------------------------------------------------------------------------------------------
// 4. library load: what `import('kms-byok')` costs a program, against an empty node
if (selected(4)) {
  const ENTRY = new URL('../../dist/index.js', import.meta.url).href;
  // Each child prints its peak RSS (KiB) when done; wall time is measured around the spawn.
  const measure = (code) =>
    new Promise((resolve, reject) => {
      const s = performance.now();
      const c = spawn(process.execPath, ['--input-type=module', '-e', `${code}; process.stdout.write(String(process.resourceUsage().maxRSS))`], { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      c.stdout.on('data', (d) => (out += d));
      c.on('exit', (status) => (status === 0 ? resolve({ ms: performance.now() - s, rssKiB: Number(out) }) : reject(new Error(`library load exited ${status}`))));
    });
  const bare = [];
  const lib = [];
  for (let i = 0; i < 7; i++) {
    bare.push(await measure('0'));
    lib.push(await measure(`await import(${JSON.stringify(ENTRY)})`));
  }
  const ms = [median(lib.map((x) => x.ms)), median(bare.map((x) => x.ms))];
  const rss = [median(lib.map((x) => x.rssKiB)), median(bare.map((x) => x.rssKiB))];
  results.push(["4. library load: import('kms-byok') ÷ node -e 0 wall time", `${ms[0].toFixed(0)} ms ÷ ${ms[1].toFixed(0)} ms = ${(ms[0] / ms[1]).toFixed(2)}×`, 'reported', true]);
  results.push(["4. library load: import('kms-byok') ÷ node -e 0 peak RSS", `${(rss[0] / 1024).toFixed(1)} MiB ÷ ${(rss[1] / 1024).toFixed(1)} MiB = ${(rss[0] / rss[1]).toFixed(2)}×`, 'reported', true]);
}

rmSync(work, { recursive: true, force: true });
console.log(`kms-byok benchmarks (${new Date().toISOString()}, node ${process.version}, ${(await import('node:os')).cpus().length} CPUs)`);
for (const [what, value, goal, met] of results) console.log(`${met ? 'MET ' : 'MISS'}  ${what}: ${value}  (${goal})`);
console.log(`total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
