#!/usr/bin/env node
/**
 * Process entry — in the published package `dist/bin.cjs`, the CommonJS entry of the esbuild bundle
 * (docs/architecture.md, "The build"): it stays small, needs no ES module loader for `--help`, and
 * imports everything else lazily (the ES module chunks). No top-level await: CommonJS has none. The AWS SDK prints a
 * Node-version support warning on Node < 22; kms-byok supports Node 20 deliberately, so that one
 * warning is switched off here (only when the user has not set the SDK's own switch), leaving every
 * other warning alone.
 */
import { enableCliCompileCache } from './cli/compile-cache.js';

/**
 * The top-level help, rendered from the command table when the bundle is built
 * (scripts/build-bundle.mjs); undefined when this file runs unbundled. `kms-byok --help` is the first
 * thing a new user runs: printing it needs nothing else loaded.
 */
declare const KMS_BYOK_TOP_LEVEL_HELP: string | undefined;

const helpOnly = process.argv.length === 3 && ['--help', '-h', 'help'].includes(process.argv[2]!);
if (helpOnly && typeof KMS_BYOK_TOP_LEVEL_HELP === 'string') {
  // A reader that stops early (`| head`) closes the pipe: that is not an error of ours. Any other
  // write error (a full disk) is, as for every other command: exit 1 and say so.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') return;
    process.stderr.write(`kms-byok: error: cannot write the output: ${e.code ?? e.message}\n`);
    process.exitCode = 1;
  });
  process.stdout.write(KMS_BYOK_TOP_LEVEL_HELP);
} else {
  // A run whose event loop empties while main() is still pending is a bug, never a success: exit 13,
  // as Node does for an unsettled top-level await (which this CommonJS entry cannot use). A code set
  // by a signal's exit or by main() is left alone.
  let settled = false;
  process.on('exit', (code) => {
    if (settled || code !== 0) return;
    process.stderr.write('kms-byok: error: internal error: the command stopped before it finished (a bug in kms-byok)\nkms-byok: code: ERR_INTERNAL\n');
    process.exitCode = 13;
  });
  runCli().then(
    () => (settled = true),
    (e: unknown) => {
      // main() never throws; this is a chunk that could not be loaded (a damaged install).
      settled = true;
      process.stderr.write(`kms-byok: error: cannot start: ${e instanceof Error ? e.message : String(e)}\nkms-byok: hint: reinstall kms-byok\nkms-byok: code: ERR_INTERNAL\n`);
      process.exitCode = 1;
    },
  );
}

async function runCli(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

  // Before any other module is loaded: stack traces of a debug run name src/ files through the
  // bundle's source maps, and Node's compile cache (Node ≥ 22.8) serves the modules that follow.
  if (process.env.KMS_BYOK_DEBUG === '1') process.setSourceMapsEnabled(true);
  enableCliCompileCache();

  // A ceremony's process holds key material: keep it out of core dumps (cli/core-dumps.ts).
  (await import('./cli/core-dumps.js')).disableCoreDumps();

  const { main } = await import('./cli/main.js');
  const { systemIo } = await import('./cli/io.js');
  process.exitCode = await main(process.argv.slice(2), systemIo());
}
