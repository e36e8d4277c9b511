/**
 * The primitives every written file goes through (src/records/safe-files.ts), attacked directly:
 * links, hard links, files of another user, a lock held elsewhere, directories others may change.
 */
import { chmodSync, chownSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertDirectorySafe, createExclusive, openAppendOnly, replaceAtomic, withFileLock } from '../../src/records/safe-files.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kms-byok-safe-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const isRoot = typeof process.geteuid === 'function' && process.geteuid() === 0;

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  return p.then(
    () => undefined,
    (e: { code?: string }) => e.code,
  );
}

describe('safe files', () => {
  it('createExclusive through a dangling link: ERR_UNSAFE_PATH, the target not created', async () => {
    symlinkSync(join(dir, 'created-through-link'), join(dir, 'dangling'));
    expect(await codeOf(createExclusive(join(dir, 'dangling'), 'x', 'a test file'))).toBe('ERR_UNSAFE_PATH');
    expect(existsSync(join(dir, 'created-through-link'))).toBe(false);
  });

  it('replaceAtomic over a link: ERR_UNSAFE_PATH, the target keeps its bytes, no temp file left', async () => {
    writeFileSync(join(dir, 'precious'), 'precious\n');
    symlinkSync(join(dir, 'precious'), join(dir, 'link-to-precious'));
    expect(await codeOf(replaceAtomic(join(dir, 'link-to-precious'), 'attacker text', 'a test file'))).toBe('ERR_UNSAFE_PATH');
    expect(readFileSync(join(dir, 'precious'), 'utf8')).toBe('precious\n');
  });

  it('openAppendOnly of a file with a second hard link: ERR_UNSAFE_PATH', async () => {
    writeFileSync(join(dir, 'appended'), '', { mode: 0o600 });
    linkSync(join(dir, 'appended'), join(dir, 'watcher'));
    expect(await codeOf(openAppendOnly(join(dir, 'appended'), 'a test file', { create: false }))).toBe('ERR_UNSAFE_PATH');
  });

  it.skipIf(!isRoot)('openAppendOnly of a file owned by another user (uid 65534): ERR_UNSAFE_PATH (runs as root only)', async () => {
    writeFileSync(join(dir, 'theirs'), '', { mode: 0o600 });
    chownSync(join(dir, 'theirs'), 65534, 65534);
    expect(await codeOf(openAppendOnly(join(dir, 'theirs'), 'a test file', { create: false }))).toBe('ERR_UNSAFE_PATH');
  });

  it('a lock held by a process on another host is never broken: ERR_LOCKED naming it, the lock left in place', async () => {
    const path = join(dir, 'locked.md');
    const lock = `${path}.lock`;
    writeFileSync(lock, `${JSON.stringify({ pid: 1, host: 'other-host.example', since: '2026-01-01T00:00:00.000Z' })}\n`, { mode: 0o600 });
    let ran = false;
    const err = await withFileLock(path, 'the test file', async () => void (ran = true), { waitMs: 50 }).catch((e: { code?: string; message?: string }) => e);
    expect((err as { code?: string }).code).toBe('ERR_LOCKED');
    expect((err as { message?: string }).message).toContain('pid 1 on other-host.example');
    expect(ran).toBe(false);
    expect(existsSync(lock)).toBe(true);
  });

  it('directories: a group-writable parent is refused with chmod go-w; a root-owned sticky parent (like /tmp) is accepted', () => {
    const parent = join(dir, 'team');
    mkdirSync(join(parent, 'escrow'), { recursive: true, mode: 0o700 });
    chmodSync(parent, 0o775);
    expect(() => assertDirectorySafe(join(parent, 'escrow'))).toThrow(expect.objectContaining({ code: 'ERR_ESCROW_DIR_UNSAFE', hint: `chmod go-w ${parent}` }));
    if (isRoot) {
      chmodSync(parent, 0o1777);
      expect(() => assertDirectorySafe(join(parent, 'escrow'))).not.toThrow();
      // …but the escrow directory itself may not be shared, sticky or not.
      chmodSync(join(parent, 'escrow'), 0o1777);
      expect(() => assertDirectorySafe(join(parent, 'escrow'))).toThrow(expect.objectContaining({ code: 'ERR_ESCROW_DIR_UNSAFE', hint: `chmod 700 ${join(parent, 'escrow')}` }));
    }
  });

  it('a link as the escrow directory is judged by where it leads', () => {
    const real = join(dir, 'shared-real');
    mkdirSync(real, { mode: 0o700 });
    chmodSync(real, 0o777);
    symlinkSync(real, join(dir, 'escrow-link'));
    expect(() => assertDirectorySafe(join(dir, 'escrow-link'))).toThrow(expect.objectContaining({ code: 'ERR_ESCROW_DIR_UNSAFE' }));
  });
});

describe('replaceAtomic under concurrency (directory fsyncs shared: group commit)', () => {
  it('every concurrent replacement in one directory lands and returns; a later one still syncs', async () => {
    const d = join(dir, 'group');
    mkdirSync(d);
    for (let round = 0; round < 3; round++) {
      await Promise.all(Array.from({ length: 40 }, (_, i) => replaceAtomic(join(d, `j-${i}.json`), `round ${round} file ${i}\n`, 'the journal')));
      for (let i = 0; i < 40; i++) expect(readFileSync(join(d, `j-${i}.json`), 'utf8')).toBe(`round ${round} file ${i}\n`);
    }
    await replaceAtomic(join(d, 'alone.json'), 'alone\n', 'the journal');
    expect(readFileSync(join(d, 'alone.json'), 'utf8')).toBe('alone\n');
  });
});
