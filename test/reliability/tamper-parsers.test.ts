/**
 * Tampered and malformed inputs beyond the escrow files (test/escrow/tamper.test.ts covers bundles,
 * escrows and shares): the ceremony journal, the ceremony transcript, and the wrapping public key KMS
 * returns (docs/reliability.md).
 *   - Journal: an unfinished journal (left by a failed rotation or re-import) is mutated — a byte
 *     flipped, truncated, a field replaced by an arbitrary JSON value — and the same command is run
 *     again. Never a crash or an internal error; exit 0 only with the ceremony really done; KMS never
 *     holds material absent from the escrow; no sealed file changes.
 *   - Transcript: any flipped byte, truncation or removed line of a real transcript makes
 *     `transcript verify` exit non-zero (3), and never crash.
 *   - Wrapping public key: a proxy between the CLI and the emulator replaces `PublicKey` in
 *     GetParametersForImport answers (random bytes, truncated DER, flipped bits, a 2048-bit key where
 *     4096 was asked, empty). The onboard fails with an ERR code, and KMS holds no material for the key.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { journalPath } from '../../src/cli/context.js';
import { run } from '../e2e/harness.js';
import { CEREMONIES, allKeyIds, knownMaterialFile } from './ceremonies.js';
import { SLOW, badManners as manners, brokenSidecars, kmsMaterialIds, materialsLost, reliabilityWorkspace, sealedChanges, sealedSnapshot } from './support.js';

const RUNS = SLOW ? 60 : 4;
const R = reliabilityWorkspace('tamper-parsers');

/** A JSON-level or byte-level mutation of a journal file's text. */
const journalMutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('field' as const),
    path: fc.constantFrom('format', 'version', 'ceremony', 'subject', 'done', 'facts', 'steps', 'startedAt', 'facts.keyId', 'facts.escrow', 'facts.keyMaterialId', 'facts.escrowVersion', 'facts.importTokenValidTo', 'steps.0', 'steps.0.step'),
    value: fc.jsonValue({ maxDepth: 2 }),
  }),
);

type JournalMutation = { kind: 'flip'; at: number; bit: number } | { kind: 'truncate'; at: number } | { kind: 'field'; path: string; value: unknown };

function mutate(text: string, m: JournalMutation): string {
  if (m.kind === 'flip') {
    const b = Buffer.from(text, 'utf8');
    const i = m.at % b.length;
    b[i] = b[i]! ^ (1 << m.bit);
    return b.toString('latin1');
  }
  if (m.kind === 'truncate') return text.slice(0, m.at % text.length);
  const o = JSON.parse(text) as Record<string, unknown>;
  const parts = m.path.split('.');
  let cur: Record<string, unknown> = o;
  for (const p of parts.slice(0, -1)) {
    if (typeof cur[p] !== 'object' || cur[p] === null) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts.at(-1)!] = m.value;
  return JSON.stringify(o);
}

/** Leaves an unfinished journal of `name` (the import fails), mutates it, re-runs; checks safety. */
async function resumeFromTamperedJournal(name: string, ceremony: string, m: JournalMutation): Promise<number> {
  const { ws, alice } = R;
  const c = CEREMONIES.find((x) => x.name === name)!;
  const p = await c.prepare(ws, alice, R.tag('j'));
  const keyId = p.keyIds[0]!;
  ws.emu.faults.add({ operation: 'ImportKeyMaterial', kind: 'internal', times: 3 });
  const failed = await run(p.args);
  ws.emu.faults.clear();
  expect(failed.code).toBe(1);
  const jp = journalPath(p.escrowDir, ceremony, keyId);
  writeFileSync(jp, mutate(readFileSync(jp, 'utf8'), m));
  const snapshot = sealedSnapshot(p.escrowDir);
  const again = await run(p.args);
  expect(manners(again)).toBeUndefined();
  if (again.code === 0) expect(await p.done(ws, again), again.stderr).toBe(true);
  expect(await materialsLost(ws.kms, [keyId], p.escrowDir, alice.identity)).toEqual([]);
  expect([...sealedChanges(snapshot, sealedSnapshot(p.escrowDir)), ...brokenSidecars(p.escrowDir)]).toEqual([]);
  return again.code;
}

describe('tampered journals', () => {
  // Found by the property below: a journal of the right format but the wrong shape crashed the
  // resume with an internal error (fixed in src/cli/context.ts).
  it.each([
    ['steps', {}],
    ['steps', [null]],
    ['facts', []],
    ['facts', null],
    ['facts.keyId', 5],
  ] as const)('a journal with %s = %j: the re-run does not crash and completes', async (path, value) => {
    expect(await resumeFromTamperedJournal('rotate --in-place', 'rotate-in-place', { kind: 'field', path, value })).toBe(0);
  }, 60_000);
  it.each([
    ['rotate --in-place', 'rotate-in-place'],
    ['reimport', 'reimport'],
  ])('%s resumed from a mutated unfinished journal: no crash, nothing lost, nothing overwritten', async (name, ceremony) => {
    let tried = 0;
    let rejected = 0;
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(journalMutation, async (m) => {
        tried++;
        // A journal is not integrity-protected (it holds no secret and KMS is asked before acting):
        // a mutated one is either refused or resumed safely to a really completed ceremony.
        if ((await resumeFromTamperedJournal(name!, ceremony!, m)) === 0) accepted++;
        else rejected++;
      }),
      { numRuns: RUNS },
    );
    R.summary.tampered(`journal files (${name})`, tried, rejected, accepted);
  }, 300_000);
});

describe('tampered transcripts', () => {
  let text = '';
  let file = '';
  let head = '';
  beforeAll(async () => {
    const c = CEREMONIES.find((x) => x.name === 'reimport')!;
    const p = await c.prepare(R.ws, R.alice, 'transcript');
    expect((await run(p.args)).code).toBe(0);
    expect((await run(p.args)).code).toBe(0);
    file = `${p.escrowDir}/transcript.md`;
    text = readFileSync(file, 'latin1');
    const ok = await run(['transcript', 'verify', file, '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    head = ok.json<{ head: string }>().head;
    expect(head).toMatch(/^[0-9a-f]{64}$/);
  }, 60_000);

  it('any flipped byte, truncation or removed line: verify exits 3 (never 0, never a crash); cut at an entry boundary: exits 3 with --head', async () => {
    let tried = 0;
    let rejected = 0;
    const target = R.ws.path('tampered-transcript.md');
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
          fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
          fc.record({ kind: fc.constant('drop-line' as const), at: fc.nat() }),
        ),
        async (m) => {
          tried++;
          const b = Buffer.from(text, 'latin1');
          let out: Buffer;
          let withHead = false;
          if (m.kind === 'flip') {
            out = Buffer.from(b);
            const i = m.at % b.length;
            out[i] = out[i]! ^ (1 << m.bit);
          } else if (m.kind === 'truncate') {
            // Cutting whole entries off the end (down to an empty file) is only visible with --head,
            // as docs/lifecycle.md says: then check with the head recorded elsewhere.
            out = b.subarray(0, m.at % (b.length - 1));
            const cut = out.toString('latin1');
            withHead = cut.length === 0 || /-->\n?$/.test(cut) || !cut.includes('<!-- kms-byok-entry');
          } else {
            const lines = text.split('\n');
            const i = m.at % lines.length;
            if (lines[i] === '' ) return;
            out = Buffer.from(lines.filter((_, j) => j !== i).join('\n'), 'latin1');
          }
          writeFileSync(target, out);
          const r = await run(['transcript', 'verify', target, ...(withHead ? ['--head', head] : [])]);
          expect(manners(r)).toBeUndefined();
          expect(r.code, `${m.kind} at ${m.at}: ${r.stdout}`).not.toBe(0);
          rejected++;
        },
      ),
      { numRuns: SLOW ? 300 : 60 },
    );
    R.summary.tampered('transcript files', rejected, rejected);
    expect(tried).toBeGreaterThan(0);
  }, 120_000);
});

describe('a tampered wrapping public key from KMS', () => {
  let proxy: Server;
  let endpoint = '';
  let replace: ((pk: Buffer) => string) | undefined;

  beforeAll(async () => {
    proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const url = new URL(R.ws.emu.endpoint);
        const up = request({ host: url.hostname, port: url.port, path: req.url, method: req.method, headers: req.headers }, (ur) => {
          const body: Buffer[] = [];
          ur.on('data', (c: Buffer) => body.push(c));
          ur.on('end', () => {
            let out = Buffer.concat(body);
            if (replace && req.headers['x-amz-target'] === 'TrentService.GetParametersForImport' && ur.statusCode === 200) {
              const j = JSON.parse(out.toString('utf8')) as { PublicKey: string };
              j.PublicKey = replace(Buffer.from(j.PublicKey, 'base64'));
              out = Buffer.from(JSON.stringify(j));
            }
            const headers = { ...ur.headers, 'content-length': String(out.length) };
            res.writeHead(ur.statusCode ?? 500, headers);
            res.end(out);
          });
        });
        up.on('error', () => res.destroy());
        up.end(Buffer.concat(chunks));
      });
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    endpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => proxy?.close(r));
  });

  const rsa2048 = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'der' });

  it('random bytes, truncated DER, flipped bits, a wrong-size key, empty: onboard fails with an ERR; KMS holds no material', async () => {
    let tried = 0;
    let rejected = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.record({ kind: fc.constant('random' as const), bytes: fc.uint8Array({ maxLength: 600 }) }),
          fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
          fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
          fc.constant({ kind: 'rsa2048' as const }),
          fc.constant({ kind: 'empty' as const }),
          fc.constant({ kind: 'not-base64' as const }),
        ),
        async (m) => {
          const { ws, alice } = R;
          tried++;
          replace = (pk) => {
            if (m.kind === 'random') return Buffer.from(m.bytes).toString('base64');
            if (m.kind === 'truncate') return pk.subarray(0, m.at % pk.length).toString('base64');
            if (m.kind === 'flip') {
              const b = Buffer.from(pk);
              const i = m.at % b.length;
              b[i] = b[i]! ^ (1 << m.bit);
              return b.toString('base64');
            }
            if (m.kind === 'rsa2048') return rsa2048.toString('base64');
            if (m.kind === 'empty') return '';
            return '%%%not base64%%%';
          };
          const before = new Set(await allKeyIds(ws));
          const escrowDir = ws.path(`escrow-${R.tag('pk-')}`);
          const r = await run(['onboard', '--endpoint-url', endpoint, '--region', 'us-east-1', '--yes', '--json', '--recipient', alice.recipient, '--escrow-dir', escrowDir, '--no-expiry', '--material-file', knownMaterialFile(ws)]);
          replace = undefined;
          expect(manners(r)).toBeUndefined();
          const created = (await allKeyIds(ws)).filter((k) => !before.has(k));
          // A flipped bit deep in the modulus still parses as a 4096-bit key: then KMS cannot unwrap and
          // refuses the import. Either way the ceremony fails and nothing is imported.
          expect(r.code, `${m.kind}: ${r.stderr}`).not.toBe(0);
          for (const k of created) expect(await kmsMaterialIds(ws.kms, k)).toEqual([]);
          expect(await materialsLost(ws.kms, created, escrowDir, alice.identity)).toEqual([]);
          rejected++;
        },
      ),
      { numRuns: SLOW ? 80 : 12 },
    );
    R.summary.tampered('wrapping public key from KMS', tried, rejected);
  }, 300_000);
});
