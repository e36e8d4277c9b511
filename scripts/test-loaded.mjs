#!/usr/bin/env node
/**
 * `npm run test:loaded [-- vitest args…]`: runs the test suite on a loaded machine — one busy loop
 * (a child process spinning) per core (os.availableParallelism()) beside `vitest run` — so a test that
 * races the clock fails here rather than in CI on a busy day (docs/reliability.md, "Loaded machine").
 * Extra arguments go to vitest (`npm run test:loaded -- test/e2e`). Exits with vitest's code; the
 * loops are stopped however the run ends (a signal to this script is passed on to vitest first).
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';

const cores = availableParallelism();
const loops = Array.from({ length: cores }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
const stopLoops = () => {
  for (const l of loops) if (l.exitCode === null && l.signalCode === null) l.kill('SIGKILL');
};
process.on('exit', stopLoops);
console.error(`test:loaded: ${cores} busy loop(s) running (one per core); vitest run ${process.argv.slice(2).join(' ')}`.trimEnd());

const vitest = spawn('npx', ['vitest', 'run', ...process.argv.slice(2)], { stdio: 'inherit' });
for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(s, () => vitest.kill(s));
vitest.on('close', (code, signal) => {
  stopLoops();
  console.error(`test:loaded: vitest ${signal ? `ended by ${signal}` : `exited ${code}`}; busy loops stopped`);
  process.exit(code ?? 1);
});
