// Loaded with `node --import ./scripts/bench/cli-probe.mjs dist/bin.cjs …`: the benchmark measures the
// shipped binary (the bundle), and this preload writes, when the process exits, to the file named by
// KMS_BYOK_BENCH_RSS_FILE as JSON: peak RSS (KiB) and CPU time (µs, user + system) from
// process.resourceUsage(), and the peaks of V8's heap and of external memory sampled every 50 ms
// (bytes), which tell retained data from GC slack when RSS moves.
import { writeFileSync } from 'node:fs';

const peak = { heapUsed: 0, heapTotal: 0, external: 0, retained: 0 };
const sample = () => {
  const m = process.memoryUsage();
  for (const k of ['heapUsed', 'heapTotal', 'external']) peak[k] = Math.max(peak[k], m[k]);
};
// KMS_BYOK_BENCH_GC=1 (with node --expose-gc): a full GC every second, recording the heap left after
// it and once at the end (`retained`): what the run holds on to, without the garbage V8 lets pile up between collections.
const forcedGc = process.env.KMS_BYOK_BENCH_GC === '1' && typeof globalThis.gc === 'function';
let ticks = 0;
const sampler = setInterval(() => {
  sample();
  if (forcedGc && ++ticks % 20 === 0) {
    globalThis.gc();
    peak.retained = Math.max(peak.retained, process.memoryUsage().heapUsed);
  }
}, 50);
sampler.unref();
process.on('exit', () => {
  clearInterval(sampler);
  sample();
  if (forcedGc) {
    globalThis.gc();
    peak.retained = Math.max(peak.retained, process.memoryUsage().heapUsed);
  }
  if (process.env.KMS_BYOK_BENCH_RSS_FILE) {
    const u = process.resourceUsage();
    writeFileSync(process.env.KMS_BYOK_BENCH_RSS_FILE, JSON.stringify({ maxRSS: u.maxRSS, cpuMicros: u.userCPUTime + u.systemCPUTime, peak }));
  }
});
