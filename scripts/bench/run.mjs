#!/usr/bin/env node
// kms-byok benchmarks (issue 8). Run with `npm run bench` (builds dist/ first). Each benchmark prints
// ratios measured in this run; nothing here is asserted by the unit tests. Results: docs/fleet.md.
//
//   1. one onboard ceremony by kms-byok vs the AWS-documented manual procedure (aws CLI + openssl,
//      manual-onboard.sh) against the same emulator: wall-time ratio (goal ≥ 5×)
//   2. reimport --plan of SMALL and LARGE keys over 3 Regions at the emulator's KMS default quotas
//      × BENCH_QUOTA_SCALE: achieved GetParametersForImport rate ÷ quota (goal ≥ 0.9), zero failed
//      keys, and peak RSS at LARGE ÷ peak RSS at SMALL (goal ≤ 1.2), each size in its own process
//   3. CLI cold start (`--help`, `status --json` against the emulator) ÷ `node -e 0` (goal ≤ 3×)
//
// Sizes: BENCH_CONCURRENCY (default 8, keys in flight per Region), BENCH_SMALL (default 100), BENCH_LARGE (default 300: the emulator unwraps RSA-4096 in pure
// JavaScript, ~0.2 s each, so 1,000 keys at these quotas take ~6 minutes on 2 cores), BENCH_QUOTA_SCALE
// (default 1: AWS's own quotas, GetParametersForImport 1/s per Region).
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
const LARGE = Number(process.env.BENCH_LARGE ?? 300);
const SCALE = Number(process.env.BENCH_QUOTA_SCALE ?? 1);
const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2'];
const ENV = { PATH: process.env.PATH, HOME: process.env.HOME ?? tmpdir(), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
const t0 = performance.now();
const work = mkdtempSync(join(tmpdir(), 'kms-byok-bench-'));

function wrappingKeys() {
  const read = (bits) => ['a', 'b'].map((s) => readFileSync(join(ROOT, `fixtures/wrapping-keys/TEST-ONLY-rsa-${bits}-${s}.pem`), 'utf8'));
  return { RSA_2048: read(2048), RSA_3072: read(3072), RSA_4096: read(4096) };
}
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
{
  const emu = await startEmulator({ wrappingKeys: wrappingKeys() });
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
{
  const state = join(work, 'kms-state.json');
  const fixture = await startEmulator({ wrappingKeys: wrappingKeys(), stateFile: state });
  const f0 = performance.now();
  const keys = await createFleet(fixture.endpoint, work, recipient, REGIONS, LARGE);
  await fixture.close();
  console.error(`bench 2 fixture: ${keys.length} keys with escrows in ${((performance.now() - f0) / 1000).toFixed(1)} s`);
  const quota = KMS_DEFAULT_QUOTAS.GetParametersForImport * SCALE;
  const runs = {};
  for (const n of [SMALL, LARGE]) {
    const plan = join(work, `plan-${n}.json`);
    writeFileSync(plan, JSON.stringify({ version: 1, defaults: { escrowDir: 'escrow', identity: 'alice.txt', expiresIn: '90d' }, keys: keys.slice(0, n).map((k) => ({ key: k.keyId, region: k.region })) }));
    const emu = await startEmulator({ wrappingKeys: wrappingKeys(), stateFile: state, quotas: 'default', quotaScale: SCALE, wrappingKeyPoolSize: 4 });
    const rssFile = join(work, `rss-${n}`);
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
      const c = spawn(process.execPath, [RSS, 'reimport', '--plan', plan, '--endpoint-url', emu.endpoint, '--rate-scale', String(SCALE), '--concurrency', String(process.env.BENCH_CONCURRENCY ?? 8), '--json', '--progress-interval', '30'], {
        env: { ...ENV, KMS_BYOK_BENCH_RSS_FILE: rssFile },
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
    await emu.close();
    if (child.status !== 0 && child.status !== 1) throw new Error(`reimport --plan ${n} exited ${child.status}: ${child.stderr}`);
    const report = JSON.parse(child.stdout);
    // Achieved rate: GetParametersForImport admitted per second over the span they were sent in, per Region.
    const span = (times[times.length - 1] - times[0]) / 1000;
    const achieved = (times.length - REGIONS.length) / span / REGIONS.length; // n-1 intervals per Region
    runs[n] = { rss: Number(readFileSync(rssFile, 'utf8')), achieved, failed: report.summary.failed, ok: report.summary.ok, throttled, wall };
    console.error(`bench 2 reimport --plan ${n}: ${report.summary.ok} ok, ${report.summary.failed} failed, ${throttled} throttled by the emulator, ${(wall / 1000).toFixed(1)} s, GetParametersForImport ${achieved.toFixed(3)}/s per Region (quota ${quota}), peak RSS ${(runs[n].rss / 1024).toFixed(1)} MiB`);
  }
  for (const n of [SMALL, LARGE]) {
    const r = runs[n];
    results.push([`2. reimport --plan ${n} keys / 3 Regions: achieved GetParametersForImport rate ÷ quota`, `${r.achieved.toFixed(3)} ÷ ${quota} = ${(r.achieved / quota).toFixed(3)} (${r.failed} failed keys, ${r.throttled} throttled requests)`, 'goal ≥ 0.9, 0 failed', r.achieved / quota >= 0.9 && r.failed === 0]);
  }
  const rr = runs[LARGE].rss / runs[SMALL].rss;
  results.push([`2. peak RSS at ${LARGE} keys ÷ at ${SMALL} keys`, `${(runs[LARGE].rss / 1024).toFixed(1)} MiB ÷ ${(runs[SMALL].rss / 1024).toFixed(1)} MiB = ${rr.toFixed(3)}`, 'goal ≤ 1.2', rr <= 1.2]);
}

// ---------------------------------------------------------------------------------------------
// 3. cold start
{
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

rmSync(work, { recursive: true, force: true });
console.log(`kms-byok benchmarks (${new Date().toISOString()}, node ${process.version}, ${(await import('node:os')).cpus().length} CPUs)`);
for (const [what, value, goal, met] of results) console.log(`${met ? 'MET ' : 'MISS'}  ${what}: ${value}  (${goal})`);
console.log(`total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
