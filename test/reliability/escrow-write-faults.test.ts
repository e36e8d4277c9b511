/**
 * Escrow writes that fail (docs/reliability.md): ENOSPC and EACCES injected into the escrow directory's
 * filesystem calls while the real CLI (`main(argv, io)`) runs each ceremony. The file store writes
 * through `node:fs/promises` (`nodeEscrowFs`; its whole-file reads are synchronous `node:fs`, and
 * no read fault is injected); this file mocks that module with a
 * pass-through that fails the nth matching call under the scenario's escrow directory:
 *   - `open` of a new file (`wx`: the writability probe, sealed-file temps, sidecar temps) → EACCES
 *   - `write` on such a file → half the bytes written, then ENOSPC (a torn temp file)
 *   - `link` (publishing a sealed file create-only) → EACCES
 *   - `rename` (publishing a sidecar, e.g. recording an import) → ENOSPC
 * nth runs from 1 until the ceremony no longer reaches an nth call, so every escrow write of every
 * ceremony fails once (air-gapped: wrap's sealing and import's sidecar update; a fleet: each key's
 * sidecar update). Journal (`.journal/`) and transcript writes are left alone. Default tier: rotate
 * --in-place under every fault, the air-gapped import under the sidecar update; KMS_BYOK_SLOW=1: all.
 *
 * Afterwards, as for KMS faults: completed or a re-run completes it; no KMS material absent from the
 * escrow; no sealed escrow file changed or vanished; every sidecar parses; the failure is reported as
 * an ERR code (ERR_ESCROW_DIR_UNWRITABLE and friends), never a stack.
 */
import { describe, expect, it, vi } from 'vitest';
import type { RunResult } from '../e2e/harness.js';
import { CEREMONIES, allKeyIds, describeFailure, perform, settle } from './ceremonies.js';
import { SLOW, reliabilityWorkspace, sealedSnapshot } from './support.js';

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
// Default tier: every fault for rotate --in-place; for the air-gapped import, the sidecar update that
// records an import after KMS took it (the one its re-run must recover from).
const DEFAULT_CASES: Record<string, Set<Op>> = {
  'rotate --in-place': new Set(['open', 'write', 'link', 'rename']),
  'air-gapped import': new Set(['rename']),
};

const R = reliabilityWorkspace('escrow-write-faults');

const chosen = CEREMONIES.map((c, i) => [c.name, i] as const).flatMap(([name, index]) =>
  FAULTS.filter((f) => SLOW || DEFAULT_CASES[name]?.has(f.op)).map((f) => [name, f.label, index, f] as const),
);

describe('failing escrow writes', () => {
  it.each(chosen)('%s, %s at every nth call: completed by a re-run; nothing lost or overwritten', async (name, _label, index, f) => {
    const { ws, alice, summary } = R;
    const failures: string[] = [];
    for (let nth = 1; nth <= MAX_NTH; nth++) {
      const p = await CEREMONIES[index]!.prepare(ws, alice, R.tag('w'));
      const before = { keys: new Set(await allKeyIds(ws)), sealed: sealedSnapshot(p.escrowDir) };
      ctl.armed = { dir: p.escrowDir, op: f.op, code: f.code, nth, seen: 0, fired: 0 };
      let first: RunResult;
      let fired = 0;
      try {
        first = await perform(p);
      } finally {
        fired = ctl.armed.fired;
        ctl.armed = undefined;
      }
      const j = await settle(ws, alice, p, before, first);
      if (fired === 0) {
        // The ceremony makes fewer than nth such calls: every one has failed once; stop.
        expect(j.completed && j.again === undefined, first.stderr).toBe(true);
        break;
      }
      summary.scenario({ ceremony: name, fault: f.label, completed: j.completed, rerun: j.again !== undefined, materialsLost: j.lost.length, escrowFilesDamaged: j.damaged.length, secretsFound: j.secretsFound });
      if (!j.completed || j.lost.length || j.damaged.length || j.secretsFound || j.manners) failures.push(describeFailure(`nth=${nth}`, first, j));
    }
    expect(failures, failures.join('\n')).toEqual([]);
  }, SLOW ? 300_000 : 120_000);
});
