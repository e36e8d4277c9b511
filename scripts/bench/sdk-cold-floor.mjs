// The AWS SDK's own cold-start floor for benchmark 3 (scripts/bench/run.mjs): a bare
// @aws-sdk/client-kms client that sends one ListKeys and exits, bundled with the CLI's own esbuild
// options (scripts/bundle-options.mjs) and started the way dist/bin.cjs starts: a small entry turns
// on Node's compile cache where Node has one (unless KMS_BYOK_NO_COMPILE_CACHE=1, as the CLI), then
// imports the bundle. `status --json` cannot start faster than this through the SDK; the difference
// is kms-byok's own share.
//
//   const entry = await buildSdkColdFloor(dir);   then: node ENTRY ENDPOINT
import { build } from 'esbuild';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUNDLE_OPTIONS, ROOT } from '../bundle-options.mjs';

const CLIENT = `import { KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
const kms = new KMSClient({ region: 'us-east-1', endpoint: process.argv[2], credentials: { accessKeyId: 'AKIDKMSBYOKBENCH', secretAccessKey: 'bench' }, maxAttempts: 1 });
await kms.send(new ListKeysCommand({}));
kms.destroy();
`;

// CommonJS like dist/bin.cjs, so Node starts it without its ES module loader, and imports the chunks.
const ENTRY = `const m = require('node:module');
if (process.env.KMS_BYOK_NO_COMPILE_CACHE !== '1' && typeof m.enableCompileCache === 'function') m.enableCompileCache(require('node:path').join(require('node:os').homedir(), '.cache', 'sdk-cold-floor'));
import('./client.mjs').catch((e) => { console.error(e); process.exit(1); });
`;

/** Writes the bundle into `dir` (which must exist) and returns the path of the entry to run. */
export async function buildSdkColdFloor(dir) {
  writeFileSync(join(dir, 'client-source.mjs'), CLIENT);
  await build({ ...BUNDLE_OPTIONS, absWorkingDir: ROOT, nodePaths: [join(ROOT, 'node_modules')], entryPoints: { client: join(dir, 'client-source.mjs') }, outdir: dir, outExtension: { '.js': '.mjs' }, chunkNames: 'chunk-[hash]' });
  writeFileSync(join(dir, 'entry.cjs'), ENTRY);
  return join(dir, 'entry.cjs');
}
