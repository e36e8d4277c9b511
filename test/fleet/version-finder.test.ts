// indexedVersionFinder: one directory listing per run, never "no escrow" for one that exists — a key
// whose files appear after the snapshot is found by a direct lookup.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { findLatestVersion } from '../../src/escrow/file-store.js';
import { indexedVersionFinder } from '../../src/cli/context.js';

const A = '11111111-2222-3333-4444-555555555555';
const C = '99999999-8888-7777-6666-555555555555';
let dir: string;
beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'kms-byok-finder-'))));
afterEach(async () => rm(dir, { recursive: true, force: true }));

it('answers from one snapshot, and looks up a key the snapshot does not know', async () => {
  for (const n of [`${A}.v1.age`, `${A}.v1.age.json`, `${A}.v2.age`, `${A}.v2.age.json`]) await writeFile(join(dir, n), '');
  const find = indexedVersionFinder();
  expect(await find(dir, A)).toEqual(await findLatestVersion(dir, A));
  expect((await find(dir, A))?.escrowVersion).toBe(2);
  for (const n of [`${C}.v1.age`, `${C}.v1.age.json`]) await writeFile(join(dir, n), '');
  expect(await find(dir, C)).toEqual({ escrowVersion: 1, sidecarPath: join(dir, `${C}.v1.age.json`) });
  expect(await find(join(dir, 'absent'), A)).toBeUndefined();
});
