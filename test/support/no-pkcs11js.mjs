// Preloaded into a spawned CLI (`node --import <this file> dist/bin.cjs …`) to play an install without the
// pkcs11js binding (`npm ci --ignore-scripts`, no compiler): resolving it fails as a missing package does,
// and every module the process resolves is appended to KMS_BYOK_TEST_RESOLVED (when set) — a bundle chunk
// together with the source files its linked source map names, so a test can tell which src/ files loaded.
import { register } from 'node:module';

register('data:text/javascript,' + encodeURIComponent(`
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
function sourcesOf(url) {
  if (!url.startsWith('file:')) return [];
  const map = fileURLToPath(url) + '.map';
  if (!existsSync(map)) return [];
  return JSON.parse(readFileSync(map, 'utf8')).sources.map((s) => new URL(s, pathToFileURL(map)).href);
}
export async function resolve(specifier, context, next) {
  if (specifier === 'pkcs11js') {
    const e = new Error("Cannot find package 'pkcs11js' (test: the binding is not installed)");
    e.code = 'ERR_MODULE_NOT_FOUND';
    throw e;
  }
  const r = await next(specifier, context);
  if (process.env.KMS_BYOK_TEST_RESOLVED) appendFileSync(process.env.KMS_BYOK_TEST_RESOLVED, [r.url, ...sourcesOf(r.url)].map((u) => u + '\\n').join(''));
  return r;
}`));
