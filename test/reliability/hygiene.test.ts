/**
 * Secret hygiene (docs/reliability.md). Every end-to-end scenario runs with KNOWN material — a 32-byte AES key
 * (as hex in a --material-file), a 64-byte HMAC_512 key, and an ECC_NIST_P256 private key (PKCS#8
 * PEM) — plus the materials rotations generate (found afterwards by opening the escrows). Then all
 * stdout and stderr, every journal, transcript, sidecar, parameters and import bundle, and every
 * report are scanned for each material as hex (both cases), base64, base64url and raw bytes: zero
 * hits. Escrow, share and bundle files (and journals) are mode 0600. And at the SecretBytes seam: every
 * SecretBytes that held the known material during a ceremony has been disposed, and the buffer it lent
 * out is all zeroes afterwards.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { SecretBytes } from '../../src/core/secret.js';
import { run, type RunResult, type Workspace } from '../e2e/harness.js';
import { custodian } from '../e2e/identities.js';
import { KNOWN_AES, KNOWN_HMAC, countSecretHits, escrowedMaterials, filesUnder, reliabilityWorkspace, type Custodian } from './support.js';

let ws: Workspace;
let alice: Custodian;
let bob: Custodian;
let carol: Custodian;
const results: RunResult[] = [];
// An EC key generated here: its PKCS#8 DER and its private scalar are the secrets to look for.
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const EC_PKCS8 = ec.privateKey.export({ type: 'pkcs8', format: 'der' });
const EC_D = Buffer.from(ec.privateKey.export({ format: 'jwk' }).d!, 'base64url');

async function ok(argv: string[], opts: { cwd?: string } = {}): Promise<RunResult> {
  const r = await run(argv, opts);
  results.push(r);
  expect(r.code, `${argv.join(' ')}\n${r.stderr}`).toBe(0);
  return r;
}

const { summary } = reliabilityWorkspace('hygiene', async (r) => {
  ({ ws, alice } = r);
  bob = await custodian(ws.path('bob.txt'));
  carol = await custodian(ws.path('carol.txt'));
  writeFileSync(ws.path('aes.hex'), `${KNOWN_AES.toString('hex')}\n`, { mode: 0o600 });
  writeFileSync(ws.path('hmac.b64'), `${KNOWN_HMAC.toString('base64')}\n`, { mode: 0o600 });
  writeFileSync(ws.path('ec.pem'), ec.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
});

describe('every scenario with known material: no secret in any output or file', () => {
  let escrowDirs: string[] = [];

  it('runs onboard (AES, HMAC, EC, m-of-n), status, reimport, rotate both ways, revoke, restore both ways, escrow verify/inspect, transcript verify, and the air-gapped flow', async () => {
    const E = ws.path('escrow');
    const escrow = ['--escrow-dir', E];
    const id = ['--identity', alice.path];
    const aes = (await ok(['onboard', ...ws.target, '--yes', '--json', '--recipient', alice.recipient, ...escrow, '--expires-in', '30d', '--alias', 'alias/hyg', '--material-file', ws.path('aes.hex')])).json<{ keyId: string; escrow: { path: string } }>();
    await ok(['onboard', ...ws.target, '--yes', '--recipient', alice.recipient, ...escrow, '--no-expiry', '--key-spec', 'HMAC_512', '--material-file', ws.path('hmac.b64')]);
    await ok(['onboard', ...ws.target, '--yes', '--json', '--recipient', alice.recipient, ...escrow, '--no-expiry', '--key-spec', 'ECC_NIST_P256', '--material-file', ws.path('ec.pem')]);
    await ok(['onboard', ...ws.target, '--yes', '--json', '--recipient', `alice=${alice.recipient}`, '--recipient', `bob=${bob.recipient}`, '--recipient', `carol=${carol.recipient}`, '--threshold', '2', '--escrow-dir', ws.path('escrow-mofn'), '--no-expiry', '--material-file', ws.path('aes.hex')]);
    // status exits 3 (attention) for the 30-day material: fine, it is a report.
    for (const argv of [['status', ...ws.target, ...escrow, '--json'], ['status', aes.keyId, ...ws.target, ...escrow]]) {
      const r = await run(argv);
      results.push(r);
      expect([0, 3], r.stderr).toContain(r.code);
    }
    await ok(['reimport', 'alias/hyg', ...ws.target, ...escrow, ...id, '--expires-in', '90d']);
    await ok(['reimport', 'alias/hyg', ...ws.target, ...escrow, ...id, '--expires-in', '90d', '--json']);
    await ok(['rotate', aes.keyId, '--in-place', '--yes', '--no-expiry', ...ws.target, ...escrow, ...id, '--json']);
    await ok(['rotate', aes.keyId, '--in-place', '--yes', '--no-expiry', ...ws.target, ...escrow, ...id]);
    await ok(['revoke', aes.keyId, '--all', '--yes', '--reason', 'hygiene drill', ...ws.target, ...escrow, ...id, '--json']);
    await ok(['restore', aes.keyId, ...ws.target, ...escrow, ...id, '--no-expiry']);
    await ok(['restore', '--new-key', '--yes', '--escrow', aes.escrow.path, '--alias', 'alias/hyg-dr', '--no-expiry', ...ws.target, ...id, '--json']);
    await ok(['rotate', 'alias/hyg', '--new-key', '--yes', '--no-expiry', ...ws.target, ...escrow, ...id]);
    await ok(['escrow', 'verify', aes.escrow.path, ...id]);
    await ok(['escrow', 'verify', aes.escrow.path, ...id, '--json']);
    await ok(['escrow', 'inspect', aes.escrow.path, '--json']);
    await ok(['transcript', 'verify', `${E}/transcript.md`]);
    // Air-gapped: parameters bundle, offline wrap of the known material, online import.
    await ok(['onboard', '--yes', ...ws.target, '--export-parameters', 'params.json', '--no-expiry', '--json'], { cwd: ws.dir });
    await ok(['wrap', '--parameters', 'params.json', '--recipient', alice.recipient, '--out', 'import.json', '--escrow-dir', 'escrow-airgap', '--material-file', ws.path('aes.hex'), '--json'], { cwd: ws.dir });
    await ok(['import', ...ws.target, '--bundle', 'import.json', '--escrow-dir', 'escrow-airgap', '--json'], { cwd: ws.dir });
    escrowDirs = [E, ws.path('escrow-mofn'), ws.path('escrow-airgap')];
  }, 120_000);

  it('zero hits of any material (hex, HEX, base64, raw) in stdout, stderr, journals, transcripts, sidecars, bundles', async () => {
    expect(results.length).toBeGreaterThan(15);
    const secrets: Uint8Array[] = [KNOWN_AES, KNOWN_HMAC, EC_PKCS8, EC_D];
    for (const d of escrowDirs.slice(0, 1).concat(escrowDirs.slice(2))) for (const list of (await escrowedMaterials(d, alice.identity)).values()) secrets.push(...list);
    expect(secrets.length).toBeGreaterThan(6);
    // Sanity: the scan does find the material where it is (the known-material input file).
    expect(countSecretHits(readFileSync(ws.path('aes.hex')), [KNOWN_AES])).toBeGreaterThan(0);
    let hits = 0;
    const where: string[] = [];
    for (const r of results) {
      const h = countSecretHits(`${r.stdout}\n${r.stderr}`, secrets);
      if (h) where.push(`output: ${r.stderr.slice(0, 200)}`);
      hits += h;
    }
    // Plain-text files left by the ceremonies (sealed *.age files are ciphertext: scanned too, raw).
    const files = [...escrowDirs.flatMap(filesUnder), ws.path('params.json'), ws.path('import.json')];
    for (const f of files) {
      const h = countSecretHits(readFileSync(f), secrets);
      if (h) where.push(f);
      hits += h;
    }
    summary.hygiene.push({ scanned: results.length * 2 + files.length, files: files.length, secretsFound: hits });
    expect(where).toEqual([]);
    expect(hits).toBe(0);
  });

  it('escrow, share, bundle and journal files are mode 0600; escrow directories 0700', () => {
    const files = [...escrowDirs.flatMap(filesUnder), ws.path('params.json'), ws.path('import.json')];
    expect(files.some((f) => /share/.test(f))).toBe(true);
    expect(files.some((f) => f.includes('/.journal/'))).toBe(true);
    const wrong = files.filter((f) => !f.endsWith('transcript.md')).filter((f) => (statSync(f).mode & 0o777) !== 0o600).map((f) => `${f} ${(statSync(f).mode & 0o777).toString(8)}`);
    expect(wrong).toEqual([]);
    for (const d of escrowDirs) expect((statSync(d).mode & 0o777).toString(8)).toBe('700');
  });
});

describe('SecretBytes seam: the known material is disposed and its buffer zeroed after a ceremony', () => {
  it.each([
    ['onboard', (): string[] => ['onboard', ...ws.target, '--yes', '--recipient', alice.recipient, '--escrow-dir', ws.path('escrow-seam'), '--no-expiry', '--material-file', ws.path('aes.hex')]],
    ['rotate --in-place', (): string[] => ['rotate', 'alias/seam-rotate', '--in-place', '--yes', '--no-expiry', ...ws.target, '--escrow-dir', ws.path('escrow-seam'), '--identity', alice.path]],
    ['reimport', (): string[] => ['reimport', 'alias/seam-reimport', '--expires-in', '30d', ...ws.target, '--escrow-dir', ws.path('escrow-seam'), '--identity', alice.path]],
  ] as const)('%s', async (name, argv) => {
    if (name !== 'onboard') {
      // The key the other ceremonies work on, onboarded (untracked) with the known material.
      const r = await run(['onboard', ...ws.target, '--yes', '--recipient', alice.recipient, '--escrow-dir', ws.path('escrow-seam'), '--expires-in', '30d', '--alias', `alias/seam-${name.split(' ')[0]}`, '--material-file', ws.path('aes.hex')]);
      expect(r.code, r.stderr).toBe(0);
    }
    const lent: { inst: SecretBytes; buf: Uint8Array; known: boolean }[] = [];
    const track = (inst: SecretBytes) => {
      inst.use((b) => lent.push({ inst, buf: b, known: Buffer.from(b).includes(KNOWN_AES) }));
      return inst;
    };
    const spies = (['adopt', 'take', 'copyOf'] as const).map((m) => {
      const orig = SecretBytes[m].bind(SecretBytes);
      return vi.spyOn(SecretBytes, m).mockImplementation((b: Uint8Array) => track(orig(b)));
    });
    const origClone = SecretBytes.prototype.clone;
    const cloneSpy = vi.spyOn(SecretBytes.prototype, 'clone').mockImplementation(function (this: SecretBytes) {
      return track(origClone.call(this));
    });
    const dispose = vi.spyOn(SecretBytes.prototype, 'dispose');
    let disposeCalls = 0;
    try {
      const r = await run(argv());
      expect(r.code, r.stderr).toBe(0);
      disposeCalls = dispose.mock.calls.length;
    } finally {
      for (const s of spies) s.mockRestore();
      cloneSpy.mockRestore();
      dispose.mockRestore();
    }
    const known = lent.filter((l) => l.known);
    expect(known.length, 'the known material passed through SecretBytes').toBeGreaterThan(0);
    expect(disposeCalls).toBeGreaterThan(0);
    const live = known.filter((l) => !l.inst.disposed);
    expect(live.length, `${live.length} of ${known.length} SecretBytes holding the material were not disposed`).toBe(0);
    const dirty = known.filter((l) => l.buf.some((x) => x !== 0));
    expect(dirty.length, 'lent buffers still hold the material').toBe(0);
  }, 60_000);
});
