/**
 * Builds dist/ once before the suite (`npm run build`: tsc's typed library, then the esbuild bundle
 * of the CLI, scripts/build-bundle.mjs), so tests that spawn the real CLI (`node dist/bin.cjs`: crash,
 * terminal and emulator-process tests) always run the bundle under test, never a stale build.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  execFileSync(process.execPath, [fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url)), '-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
  execFileSync(process.execPath, [fileURLToPath(new URL('../scripts/build-bundle.mjs', import.meta.url))], { cwd: root, stdio: 'inherit' });
}
