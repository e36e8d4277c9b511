#!/usr/bin/env node
/**
 * Process entry. The AWS SDK prints a Node-version support warning on Node < 22; kms-byok supports
 * Node 20 deliberately, so that one warning is switched off here (only when the user has not set the
 * SDK's own switch), leaving every other warning alone.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// A ceremony's process holds key material: keep it out of core dumps (cli/core-dumps.ts).
(await import('./cli/core-dumps.js')).disableCoreDumps();

const { main } = await import('./cli/main.js');
const { systemIo } = await import('./cli/io.js');
process.exitCode = await main(process.argv.slice(2), systemIo());
