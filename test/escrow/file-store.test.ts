import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { sha256Hex } from '../../src/escrow/format.js';
import {
  assertEscrowDirWritable,
  findLatestVersion,
  indexLatestVersions,
  listVersions,
  nextEscrowVersion,
  nodeEscrowFs,
  readEscrow,
  readIdentityFile,
  readPassphraseFile,
  updateSidecar,
  writeSealedEscrow,
  type EscrowFileHandle,
  type EscrowFs,
} from '../../src/escrow/file-store.js';
import { openEscrow, recordImport, sealEscrow, type SealedEscrow } from '../../src/escrow/vault.js';
import { KEY_ID, bytesOf, codeOf, contents, knownMaterial, material, newIdentity, testDeps } from './helpers.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kms-byok-escrow-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const mode = async (p: string) => (await stat(p)).mode & 0o777;

async function sealed2of3(version = 1): Promise<{ sealed: SealedEscrow; identities: string[] }> {
  const ids = await Promise.all([newIdentity(), newIdentity(), newIdentity()]);
  const sealed = await sealEscrow(
    contents([material(1, knownMaterial(1)), material(2, knownMaterial(2))], version),
    { recipients: ids.map((i) => ({ recipient: i.recipient })), threshold: 2 },
    testDeps,
  );
  return { sealed, identities: ids.map((i) => i.identity) };
}

type Op = 'open' | 'write' | 'sync' | 'close' | 'link' | 'rename' | 'unlink';

/**
 * A real filesystem with a fault: the `nth` call of `op` fails with `code`. With `crash`, that call
 * and every later call fail too (the process is gone: no cleanup can run).
 */
function faultyFs(op: Op, nth: number, code: string, crash = false): EscrowFs & { calls: Record<Op, number> } {
  const calls: Record<Op, number> = { open: 0, write: 0, sync: 0, close: 0, link: 0, rename: 0, unlink: 0 };
  let dead = false;
  const gate = (o: Op) => {
    calls[o]++;
    if (dead) throw Object.assign(new Error(`${code}: process is gone`), { code });
    if (o === op && calls[o] === nth) {
      if (crash) dead = true;
      throw Object.assign(new Error(`${code}: simulated`), { code });
    }
  };
  const wrapHandle = (h: EscrowFileHandle): EscrowFileHandle => ({
    async write(buffer, offset, length, position) {
      gate('write');
      // A fault after a partial write: half the bytes reach the disk first.
      return h.write(buffer, offset, length, position);
    },
    async sync() {
      gate('sync');
      return h.sync();
    },
    async close() {
      // The descriptor is released even when close reports an error (or the process died).
      try {
        gate('close');
      } finally {
        await h.close();
      }
    },
  });
  return {
    calls,
    mkdir: (p, o) => nodeEscrowFs.mkdir(p, o),
    stat: (p) => nodeEscrowFs.stat(p),
    readFile: (p) => nodeEscrowFs.readFile(p),
    readdir: (p) => nodeEscrowFs.readdir(p),
    async open(p, f, m) {
      gate('open');
      return wrapHandle(await nodeEscrowFs.open(p, f, m));
    },
    async link(a, b) {
      gate('link');
      return nodeEscrowFs.link(a, b);
    },
    async rename(a, b) {
      gate('rename');
      return nodeEscrowFs.rename(a, b);
    },
    async unlink(p) {
      gate('unlink');
      return nodeEscrowFs.unlink(p);
    },
  };
}

/** A filesystem whose writes put half of the bytes on disk and then fail with ENOSPC. */
function fullDiskAfter(bytesAllowed: number): EscrowFs {
  let budget = bytesAllowed;
  return {
    ...nodeEscrowFs,
    async open(p, f, m) {
      const h = await nodeEscrowFs.open(p, f, m);
      return {
        async write(buffer, offset, length, position) {
          if (budget <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
          const n = Math.min(length, Math.max(1, Math.floor(budget / 2)));
          budget -= n;
          return h.write(buffer, offset, n, position);
        },
        sync: () => h.sync(),
        close: () => h.close(),
      };
    },
  };
}

describe('assertEscrowDirWritable', () => {
  test('creates a missing directory with mode 0700, leaves no probe behind, and gives no warning', async () => {
    const d = join(dir, 'new', 'escrow');
    expect(await assertEscrowDirWritable(d)).toBeUndefined();
    expect(await mode(d)).toBe(0o700);
    expect(await readdir(d)).toEqual([]);
  });

  test('warns when the directory is readable by others or by its group', async () => {
    await chmod(dir, 0o755);
    expect(await assertEscrowDirWritable(dir)).toBe(`escrow directory ${dir} is accessible to everyone (mode 755): chmod 700 ${dir}`);
    await chmod(dir, 0o750);
    expect(await assertEscrowDirWritable(dir)).toContain('accessible to its group (mode 750)');
    await chmod(dir, 0o700);
    expect(await assertEscrowDirWritable(dir)).toBeUndefined();
  });

  test('a directory that cannot be written: ERR_ESCROW_DIR_UNWRITABLE with a hint', async () => {
    // Simulated: the suite may run as root, for whom chmod 500 does not stop a write.
    const fs = faultyFs('open', 1, 'EACCES');
    await expect(assertEscrowDirWritable(dir, { fs })).rejects.toMatchObject({
      code: 'ERR_ESCROW_DIR_UNWRITABLE',
      message: `cannot write in escrow directory ${dir} (EACCES: simulated)`,
      hint: expect.stringContaining('chmod 700'),
    });
    expect(await readdir(dir)).toEqual([]);
  });

  test('a full disk during the probe and a path that is a file', async () => {
    expect(await codeOf(() => assertEscrowDirWritable(dir, { fs: fullDiskAfter(0) }))).toBe('ERR_ESCROW_DIR_UNWRITABLE');
    expect(await readdir(dir)).toEqual([]);
    await writeFile(join(dir, 'file'), 'x');
    expect(await codeOf(() => assertEscrowDirWritable(join(dir, 'file')))).toBe('ERR_ESCROW_DIR_UNWRITABLE');
  });
});

describe('writeSealedEscrow', () => {
  test('writes every sealed file and the sidecar with mode 0600 and returns their SHA-256', async () => {
    const { sealed, identities } = await sealed2of3();
    const written = await writeSealedEscrow(dir, KEY_ID, sealed);
    expect((await readdir(dir)).sort()).toEqual([...sealed.files.map((f) => f.name), `${KEY_ID}.v1.age.json`].sort());
    for (const f of written.files) {
      expect(await mode(f.path)).toBe(0o600);
      expect(sha256Hex(await readFile(f.path))).toBe(f.sha256);
    }
    expect(await mode(written.sidecarPath)).toBe(0o600);
    expect(written.path).toBe(join(dir, `${KEY_ID}.v1.age`));
    const loaded = await readEscrow(written.path);
    const p = await openEscrow(loaded, { identities: identities.slice(1) }, testDeps);
    expect(bytesOf(p.materials[1]!.material)).toEqual(knownMaterial(2));
  });

  test('never overwrites: writing the same version again fails with ERR_ESCROW_EXISTS and leaves the first intact', async () => {
    const first = await sealed2of3();
    await writeSealedEscrow(dir, KEY_ID, first.sealed);
    const before = Object.fromEntries(await Promise.all((await readdir(dir)).map(async (n) => [n, sha256Hex(await readFile(join(dir, n)))])));
    const second = await sealed2of3();
    await expect(writeSealedEscrow(dir, KEY_ID, second.sealed)).rejects.toMatchObject({ code: 'ERR_ESCROW_EXISTS', hint: expect.stringContaining('v2') });
    const after = Object.fromEntries(await Promise.all((await readdir(dir)).map(async (n) => [n, sha256Hex(await readFile(join(dir, n)))])));
    expect(after).toEqual(before);
  });

  test('a file that appears while writing (a race) is not replaced, and what this call wrote is removed', async () => {
    const { sealed } = await sealed2of3();
    const intruder = join(dir, sealed.files[2]!.name);
    const fs: EscrowFs = {
      ...nodeEscrowFs,
      async link(a, b) {
        if (b === intruder) await writeFile(intruder, 'someone else');
        return nodeEscrowFs.link(a, b);
      },
    };
    expect(await codeOf(() => writeSealedEscrow(dir, KEY_ID, sealed, { fs }))).toBe('ERR_ESCROW_EXISTS');
    expect(await readdir(dir)).toEqual([sealed.files[2]!.name]);
    expect(await readFile(intruder, 'utf8')).toBe('someone else');
  });

  test('a full disk mid-write (ENOSPC after a partial write) leaves nothing under any name', async () => {
    const { sealed } = await sealed2of3();
    const total = sealed.files.reduce((n, f) => n + f.bytes.length, 0);
    for (const allowed of [0, 100, 2500, Math.floor(total / 2), total - 10, total + 500]) {
      await expect(writeSealedEscrow(dir, KEY_ID, sealed, { fs: fullDiskAfter(allowed) })).rejects.toMatchObject({
        code: 'ERR_ESCROW_DIR_UNWRITABLE',
        hint: expect.stringContaining('free space'),
      });
      expect(await readdir(dir)).toEqual([]);
    }
  });

  test.each<[Op, string]>([
    ['open', 'EACCES'],
    ['write', 'ENOSPC'],
    ['sync', 'EIO'],
    ['close', 'EIO'],
    ['link', 'EACCES'],
  ])('a failing %s (%s) at any step leaves nothing behind', async (op, code) => {
    const { sealed } = await sealed2of3();
    const counter = faultyFs(op, Number.MAX_SAFE_INTEGER, code);
    await assertEscrowDirWritable(join(dir, 'count'));
    await writeSealedEscrow(join(dir, 'count'), KEY_ID, sealed, { fs: counter });
    const steps = counter.calls[op];
    expect(steps).toBeGreaterThan(3);
    let failures = 0;
    for (let nth = 1; nth <= steps; nth++) {
      const d = join(dir, `fail-${op}-${nth}`);
      await assertEscrowDirWritable(d);
      const outcome = await codeOf(() => writeSealedEscrow(d, KEY_ID, sealed, { fs: faultyFs(op, nth, code) }));
      const left = await readdir(d);
      if (outcome === 'did not throw') {
        // Only closing the directory handle after its fsync may fail harmlessly.
        expect(op).toBe('close');
        expect(left.sort()).toEqual([...sealed.files.map((f) => f.name), `${KEY_ID}.v1.age.json`].sort());
      } else {
        failures++;
        expect(outcome).toBe('ERR_ESCROW_DIR_UNWRITABLE');
        expect(left).toEqual([]);
      }
    }
    expect(failures).toBeGreaterThanOrEqual(op === 'close' ? steps - 2 : steps);
  });

  test('a crash at any point (no cleanup runs) never leaves a partial file under a final name nor a sidecar of an incomplete version', async () => {
    const { sealed } = await sealed2of3();
    const expected = new Map(sealed.files.map((f) => [f.name, sha256Hex(f.bytes)]));
    for (const op of ['write', 'sync', 'link', 'close'] as const) {
      for (let nth = 1; nth <= 6; nth++) {
        const d = join(dir, `crash-${op}-${nth}`);
        await assertEscrowDirWritable(d);
        const crashed = (await codeOf(() => writeSealedEscrow(d, KEY_ID, sealed, { fs: faultyFs(op, nth, 'EIO', true) }))) !== 'did not throw';
        const names = (await readdir(d)).filter((n) => !n.startsWith('.')); // dot files are temp files, never final names
        for (const name of names.filter((n) => !n.endsWith('.json'))) {
          expect(sha256Hex(await readFile(join(d, name)))).toBe(expected.get(name));
        }
        if (names.includes(`${KEY_ID}.v1.age.json`)) {
          // The sidecar is written last: when it exists, the version is complete.
          expect(names.sort()).toEqual([...expected.keys(), `${KEY_ID}.v1.age.json`].sort());
        } else {
          expect(crashed).toBe(true);
          expect(await listVersions(d, KEY_ID)).toEqual([]);
        }
      }
    }
  });

  test('refuses a sealed escrow of another key', async () => {
    const { sealed } = await sealed2of3();
    expect(await codeOf(() => writeSealedEscrow(dir, 'mrk-1234abcd12ab34cd56ef1234567890ab', sealed))).toBe('ERR_INVALID_ARGUMENT');
  });
});

describe('reading, versions, sidecar updates', () => {
  test('readEscrow from any file of the version; a share held elsewhere is listed as missing', async () => {
    const { sealed } = await sealed2of3();
    await writeSealedEscrow(dir, KEY_ID, sealed);
    await rm(join(dir, `${KEY_ID}.v1.share-3.age`));
    for (const p of [`${KEY_ID}.v1.age`, `${KEY_ID}.v1.share-1.age`, `${KEY_ID}.v1.age.json`]) {
      const loaded = await readEscrow(join(dir, p));
      expect(loaded.missing).toEqual([`${KEY_ID}.v1.share-3.age`]);
      expect(loaded.files).toHaveLength(3);
    }
    // A named file that is not there is a usage error (exit 2); a file there without its sidecar is an incomplete escrow.
    expect(await codeOf(() => readEscrow(join(dir, `${KEY_ID}.v2.age`)))).toBe('ERR_FILE_READ');
    await writeFile(join(dir, `${KEY_ID}.v2.age`), 'sealed, but its sidecar is elsewhere');
    expect(await codeOf(() => readEscrow(join(dir, `${KEY_ID}.v2.age`)))).toBe('ERR_ESCROW_NOT_FOUND');
    expect(await codeOf(() => readEscrow(join(dir, 'notes.txt')))).toBe('ERR_ESCROW_NOT_FOUND');
  });

  test('a sidecar copied under another version name is refused', async () => {
    const { sealed } = await sealed2of3();
    await writeSealedEscrow(dir, KEY_ID, sealed);
    await writeFile(join(dir, `${KEY_ID}.v5.age.json`), await readFile(join(dir, `${KEY_ID}.v1.age.json`)));
    expect(await codeOf(() => readEscrow(join(dir, `${KEY_ID}.v5.age`)))).toBe('ERR_ESCROW_MISMATCH');
  });

  test('listVersions and findLatestVersion see only complete versions of that key', async () => {
    expect(await listVersions(join(dir, 'nowhere'), KEY_ID)).toEqual([]);
    expect(await findLatestVersion(dir, KEY_ID)).toBeUndefined();
    await writeSealedEscrow(dir, KEY_ID, (await sealed2of3(1)).sealed);
    await writeSealedEscrow(dir, KEY_ID, (await sealed2of3(2)).sealed);
    await writeSealedEscrow(dir, KEY_ID, (await sealed2of3(10)).sealed);
    await writeFile(join(dir, `mrk-1234abcd12ab34cd56ef1234567890ab.v11.age.json`), '{}');
    await writeFile(join(dir, `${KEY_ID}.v12.age`), 'sealed file without a sidecar: incomplete');
    expect((await listVersions(dir, KEY_ID)).map((v) => v.escrowVersion)).toEqual([1, 2, 10]);
    expect(await findLatestVersion(dir, KEY_ID)).toEqual({ escrowVersion: 10, sidecarPath: join(dir, `${KEY_ID}.v10.age.json`) });
    // The next version skips past the incomplete v12 (orphaned by a crash): never a collision.
    expect(await nextEscrowVersion(dir, KEY_ID)).toBe(13);
    await writeFile(join(dir, `.${KEY_ID}.v20.share-1.age.0123456789ab.tmp`), 'temp file of a crashed write');
    expect(await nextEscrowVersion(dir, KEY_ID)).toBe(21);
    expect(await nextEscrowVersion(join(dir, 'nowhere'), KEY_ID)).toBe(1);
  });

  test('updateSidecar replaces the sidecar atomically with added facts only; sealed files are untouched', async () => {
    const { sealed, identities } = await sealed2of3();
    const written = await writeSealedEscrow(dir, KEY_ID, sealed);
    const sealedBefore = await readFile(written.path);
    const fact = { materialIndex: 2, importedAt: '2026-03-01T00:00:00Z', region: 'eu-west-1', expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' as const, keyMaterialId: 'ab'.repeat(32) };
    const next = await updateSidecar(written.path, (s) => recordImport(s, fact));
    expect(next.materials[1]!.keyMaterialId).toBe('ab'.repeat(32));
    expect(await mode(written.sidecarPath)).toBe(0o600);
    expect(await readFile(written.path)).toEqual(sealedBefore);
    expect((await readdir(dir)).filter((n) => n.startsWith('.'))).toEqual([]);
    const loaded = await readEscrow(written.sidecarPath);
    expect(loaded.sidecar.materials[1]!.keyMaterialId).toBe('ab'.repeat(32));
    const p = await openEscrow(loaded, { identities }, testDeps);
    expect(p.materials).toHaveLength(2);
    // Immutable parts are refused, and the sidecar on disk stays as it was.
    const onDisk = await readFile(written.sidecarPath);
    expect(await codeOf(() => updateSidecar(written.path, (s) => ({ ...s, manifest: { ...s.manifest, region: 'us-east-1' } })))).toBe('ERR_ESCROW_MISMATCH');
    expect(await readFile(written.sidecarPath)).toEqual(onDisk);
  });

  test('a full disk during a sidecar update leaves the previous sidecar in place', async () => {
    const { sealed } = await sealed2of3();
    const written = await writeSealedEscrow(dir, KEY_ID, sealed);
    const before = await readFile(written.sidecarPath);
    const fact = { materialIndex: 1, importedAt: '2026-03-01T00:00:00Z', region: 'eu-west-1', expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' as const };
    for (const fs of [fullDiskAfter(500), faultyFs('rename', 1, 'EIO'), faultyFs('sync', 1, 'EIO')]) {
      expect(await codeOf(() => updateSidecar(written.sidecarPath, (s) => recordImport(s, fact), { fs }))).toBe('ERR_ESCROW_DIR_UNWRITABLE');
      expect(await readFile(written.sidecarPath)).toEqual(before);
      expect((await readdir(dir)).filter((n) => n.startsWith('.'))).toEqual([]);
    }
  });
});

describe('identity and passphrase files', () => {
  test('reads identity files as age-keygen writes them, X25519 and post-quantum, LF or CRLF', async () => {
    const x = await newIdentity();
    const pq = await newIdentity('pq');
    const p = join(dir, 'id.txt');
    await writeFile(p, `# created: 2026-01-02T03:04:05+01:00\r\n# public key: ${x.recipient}\r\n${x.identity}\r\n\r\n# second\r\n${pq.identity}\r\n`, { mode: 0o600 });
    expect(await readIdentityFile(p)).toEqual([x.identity, pq.identity]);
  });

  test.each([
    ['no identity', '# only a comment\n\n'],
    ['an empty file', ''],
    ['a damaged identity', 'AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ\n'],
    ['a public key instead', 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\n'],
    ['an SSH private key', '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n'],
    ['a passphrase-encrypted identity', '-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n'],
  ])('%s: ERR_IDENTITY without echoing the file', async (_what, text) => {
    const p = join(dir, 'id.txt');
    await writeFile(p, text, { mode: 0o600 });
    let err: { code?: string; message?: string } = {};
    await readIdentityFile(p).catch((e: typeof err) => (err = e));
    expect(err.code).toBe('ERR_IDENTITY');
    expect(err.message).toContain(p);
    if (text.length > 20) expect(err.message).not.toContain(text.split('\n').find((l) => l && !l.startsWith('#'))!.slice(5, 30));
  });

  test.each([0o644, 0o640, 0o604, 0o660, 0o622])('an identity or passphrase file of mode %o (group/others may read or write it): ERR_INSECURE_FILE with the chmod', async (mode) => {
    const x = await newIdentity();
    const p = join(dir, 'id.txt');
    await writeFile(p, `${x.identity}\n`, { mode: 0o600 });
    await chmod(p, mode);
    const err = await readIdentityFile(p).catch((e: { code?: string; hint?: string; message?: string }) => e);
    expect((err as { code?: string }).code).toBe('ERR_INSECURE_FILE');
    expect((err as { hint?: string }).hint).toBe(`chmod 600 ${p}`);
    expect((err as { message?: string }).message).not.toContain(x.identity.slice(16, 40));
    expect(await codeOf(() => readPassphraseFile(p))).toBe('ERR_INSECURE_FILE');
    // The wizard's form: a warning with the chmod, and the file is read.
    const warnings: string[] = [];
    expect(await readIdentityFile(p, { onInsecure: (w) => warnings.push(w) })).toEqual([x.identity]);
    expect(warnings).toEqual([expect.stringContaining(`chmod 600 ${p}`)]);
  });

  test('a missing identity file: ERR_FILE_READ', async () => {
    expect(await codeOf(() => readIdentityFile(join(dir, 'absent.txt')))).toBe('ERR_FILE_READ');
  });

  test.each([
    ['pw\n', 'pw'],
    ['pw\r\n', 'pw'],
    ['pw', 'pw'],
    ['pw\n\n', 'pw\n'],
    [' spaced out \n', ' spaced out '],
  ])('passphrase file %j reads as %j (one trailing newline stripped)', async (text, want) => {
    const p = join(dir, 'pw.txt');
    await writeFile(p, text, { mode: 0o600 });
    const s = await readPassphraseFile(p);
    expect(new TextDecoder().decode(bytesOf(s))).toBe(want);
  });

  test.each(['', '\n', '\r\n'])('passphrase file %j is empty: ERR_EMPTY_PASSPHRASE', async (text) => {
    const p = join(dir, 'pw.txt');
    await writeFile(p, text, { mode: 0o600 });
    expect(await codeOf(() => readPassphraseFile(p))).toBe('ERR_EMPTY_PASSPHRASE');
  });
});

describe('indexLatestVersions (one listing for a fleet run)', () => {
  const A = '11111111-2222-3333-4444-555555555555';
  const B = 'mrk-0123456789abcdef0123456789abcdef';
  test('agrees with findLatestVersion for every key: complete versions only, the highest wins', async () => {
    for (const name of [`${A}.v1.age`, `${A}.v1.age.json`, `${A}.v2.age`, `${A}.v2.age.json`, `${A}.v3.age`, `${B}.v1.age`, `${B}.v1.age.json`, `.${A}.v4.age.json.0123456789ab.tmp`, 'transcript.md']) {
      await writeFile(join(dir, name), '');
    }
    const index = await indexLatestVersions(dir);
    expect([...index.keys()].sort()).toEqual([A, B].sort());
    for (const k of [A, B]) expect(index.get(k)).toEqual(await findLatestVersion(dir, k));
    expect(index.get(A)?.escrowVersion).toBe(2); // v3 has no sidecar: incomplete, not the latest
    expect(await indexLatestVersions(join(dir, 'absent'))).toEqual(new Map());
  });
});
