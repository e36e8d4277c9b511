/**
 * Escrow writes that fail (issue 9): ENOSPC and EACCES injected into the escrow directory's
 * filesystem calls while the real CLI (`main(argv, io)`) runs each ceremony. The file store's only
 * filesystem is `node:fs/promises` (through `nodeEscrowFs`); this file mocks that module with a
 * pass-through that fails the nth matching call under the scenario's escrow directory:
 *   - `open` of a new file (`wx`: the writability probe, sealed-file temps, sidecar temps) → EACCES
 *   - `write` on such a file → half the bytes written, then ENOSPC (a torn temp file)
 *   - `link` (publishing a sealed file create-only) → EACCES
 *   - `rename` (publishing a sidecar, e.g. recording an import) → ENOSPC
 * nth runs from 1 until the ceremony no longer reaches an nth call, so every escrow write of every
 * ceremony fails once. Journal (`.journal/`) and transcript writes are left alone.
 *
 * Afterwards, as for KMS faults: completed or a re-run completes it; no KMS material absent from the
 * escrow; no sealed escrow file changed or vanished; every sidecar parses; the failure is reported as
 * an ERR code (ERR_ESCROW_DIR_UNWRITABLE and friends), never a stack.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { run, workspace, type RunResult, type Workspace } from '../e2e/harness.js';
import { custodian } from '../e2e/identities.js';
import { CEREMONIES, allKeyIds, type Custodian } from './ceremonies.js';
import { SLOW, Summary, brokenSidecars, countSecretHits, escrowedMaterials, materialsLost, sealedChanges, sealedSnapshot } from './support.js';

type Op = 'open' | 'write' | 'link' | 'rename';
const ctl = vi.hoisted(() => ({
  armed: undefined as undefined | { dir: string; op: string; code: string; nth: number; seen: number; fired: number },
}));

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const inScope = (op: string, path: unknown): boolean => {
    const a = ctl.armed;
    const p = String(path);
    if (!a || a.op !== op || !p.startsWith(a.dir) || p.includes('/.journal') || p.includes('transcript')) return false;
    a.seen++;
    if (a.seen !== a.nth) return false;
    a.fired++;
    return true;
  };
  const fail = (code: string, syscall: string, path: unknown) => Object.assign(new Error(`${code}: injected, ${syscall} '${String(path)}'`), { code, syscall, path: String(path) });
  const open = async (path: Parameters<typeof real.open>[0], flags?: string | number, mode?: number) => {
    const creating = flags === 'wx';
    if (creating && inScope('open', path)) throw fail(ctl.armed!.code, 'open', path);
    const h = await real.open(path, flags as string, mode);
    if (!creating) return h;
    const write = h.write.bind(h) as (b: Uint8Array, o: number, l: number, p: number | null) => Promise<{ bytesWritten: number; buffer: Uint8Array }>;
    // Only the positional form (buffer, offset, length, position) the file store uses is intercepted.
    (h as unknown as { write: unknown }).write = async (buffer: Uint8Array, offset: number, length: number, position: number | null) => {
      if (typeof offset === 'number' && inScope('write', path)) {
        await write(buffer, offset, Math.floor(length / 2), position);
        throw fail(ctl.armed!.code, 'write', path);
      }
      return write(buffer, offset, length, position);
    };
    return h;
  };
  const link = async (a: string, b: string) => {
    if (inScope('link', b)) throw fail(ctl.armed!.code, 'link', b);
    return real.link(a, b);
  };
  const rename = async (a: string, b: string) => {
    if (inScope('rename', b)) throw fail(ctl.armed!.code, 'rename', b);
    return real.rename(a, b);
  };
  return { ...real, open, link, rename, default: { ...real, open, link, rename } };
});

const FAULTS: { op: Op; code: string; label: string }[] = [
  { op: 'open', code: 'EACCES', label: 'escrow write: EACCES on create' },
  { op: 'write', code: 'ENOSPC', label: 'escrow write: ENOSPC mid-write' },
  { op: 'link', code: 'EACCES', label: 'escrow write: EACCES on publish' },
  { op: 'rename', code: 'ENOSPC', label: 'escrow write: ENOSPC on sidecar update' },
];
const MAX_NTH = 8;
const DEFAULT_CEREMONIES = new Set(['rotate --in-place']);

const summary = new Summary('escrow-write-faults');
let ws: Workspace;
let alice: Custodian;
let n = 0;

beforeAll(async () => {
  ws = await workspace();
  alice = await custodian(ws.path('alice.txt'));
}, 120_000);
afterAll(async () => {
  summary.write();
  await ws?.close();
});

const chosen = CEREMONIES.map((c, i) => [c.name, i] as const).filter(([name]) => SLOW || DEFAULT_CEREMONIES.has(name));

describe.each(chosen)('%s with failing escrow writes', (name, index) => {
  it.each(FAULTS.map((f) => [f.label, f] as const))('%s at every nth call: completed by a re-run; nothing lost or overwritten', async (_label, f) => {
    const failures: string[] = [];
    for (let nth = 1; nth <= MAX_NTH; nth++) {
      const p = await CEREMONIES[index]!.prepare(ws, alice, `w${++n}`);
      const keysBefore = new Set(await allKeyIds(ws));
      const snapshot = sealedSnapshot(p.escrowDir);
      ctl.armed = { dir: p.escrowDir, op: f.op, code: f.code, nth, seen: 0, fired: 0 };
      let first: RunResult;
      let fired = 0;
      try {
        first = await run(p.args);
      } finally {
        fired = ctl.armed.fired;
        ctl.armed = undefined;
      }
      let rerun: RunResult | undefined;
      let completed = first.code === 0 && (await p.done(ws, first));
      if (!completed) {
        rerun = p.rerun ? await p.rerun(ws, first) : await run(p.args);
        completed = rerun.code === 0 && (await p.done(ws, rerun));
      }
      const keys = [...new Set([...p.keyIds, ...(await allKeyIds(ws)).filter((k) => !keysBefore.has(k))])];
      const lost = await materialsLost(ws.kms, keys, p.escrowDir, alice.identity);
      const damaged = [...sealedChanges(snapshot, sealedSnapshot(p.escrowDir)), ...brokenSidecars(p.escrowDir)];
      const secrets = [...p.known, ...[...(await escrowedMaterials(p.escrowDir, alice.identity)).values()].flat()];
      const hits = countSecretHits([first.stdout, first.stderr, rerun?.stdout ?? '', rerun?.stderr ?? ''].join('\n'), secrets);
      const manners = first.code === 0 || (/kms-byok: error: /.test(first.stderr) && /kms-byok: code: ERR_[A-Z_]+/.test(first.stderr) && !/\n\s+at /.test(first.stderr) && !/error: internal error/.test(first.stderr));
      if (fired === 0) {
        // The ceremony makes fewer than nth such calls: every one has failed once; stop.
        expect(completed, first.stderr).toBe(true);
        break;
      }
      summary.scenario({ ceremony: name, fault: f.label, completed, rerun: rerun !== undefined, materialsLost: lost.length, escrowFilesDamaged: damaged.length, secretsFound: hits });
      if (!completed || lost.length || damaged.length || hits || !manners) {
        failures.push(`nth=${nth}: completed=${completed} lost=${lost.join(',')} damaged=${damaged.join(',')} secrets=${hits} manners=${manners}\n  first(${first.code}): ${first.stderr.trim().split('\n').slice(-3).join(' | ')}\n  rerun(${rerun?.code}): ${rerun?.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      }
    }
    expect(failures, failures.join('\n')).toEqual([]);
  }, 120_000);
});
