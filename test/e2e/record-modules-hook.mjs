// Preloaded with `node --import`: records every module the process resolves, and for each file of the
// esbuild bundle the source files its source map names (airgap-offline-resolve.mjs), to the file named
// by KMS_BYOK_TEST_RESOLVED. Refuses nothing.
import { register } from 'node:module';

register('data:text/javascript,' + encodeURIComponent(`
import { appendFileSync } from 'node:fs';
import { bundledSources } from ${JSON.stringify(new URL('./airgap-offline-resolve.mjs', import.meta.url).href)};
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(process.env.KMS_BYOK_TEST_RESOLVED, [r.url, ...bundledSources(r.url)].map((u) => u + '\\n').join(''));
  return r;
}
`));
