// Module resolve hook for the offline step (see airgap-offline-hook.mjs). Records every module
// resolved — and, for a file of the esbuild bundle (dist/bin.cjs, dist/chunks/*.js), every source
// file its linked source map names (src/…/*.ts, node_modules/…), since a chunk is the code of those
// files — and refuses the AWS SDK, kms/aws and cli/target in either form.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REFUSED = ['@aws-sdk', '/kms/aws.', '/cli/target.'];

/** The source files of a bundle file (from its `.map`), as file: URLs; [] for any other module. */
export function bundledSources(url) {
  if (!url.startsWith('file:') || !/\.c?js$/.test(url)) return [];
  const map = `${fileURLToPath(url)}.map`;
  if (!existsSync(map)) return [];
  const { sources } = JSON.parse(readFileSync(map, 'utf8'));
  return sources.map((s) => new URL(s, pathToFileURL(map)).href);
}

export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  const sources = bundledSources(r.url);
  appendFileSync(process.env.KMS_BYOK_TEST_RESOLVED, [r.url, ...sources].map((u) => `${u}\n`).join(''));
  for (const u of [r.url, ...sources]) {
    if (specifier.startsWith('@aws-sdk/') || REFUSED.some((s) => u.includes(s))) {
      throw new Error(`BLOCKED: the offline step imported ${u}${u === r.url ? '' : ` (bundled in ${r.url})`}`);
    }
  }
  return r;
}
