/**
 * Shared by the reliability suite (docs/reliability.md): known secrets and the scan for them, escrow snapshots
 * (every escrow file hashed, to prove none is ever truncated or overwritten), the "KMS never holds
 * material absent from the escrow" oracle, and the summary each suite file writes for
 * `scripts/reliability/table.mjs` (`.tmp/reliability/<suite>.json`).
 *
 * The oracle is independent of kms-byok's own bookkeeping: every escrow version is opened and the
 * emulator's documented KeyMaterialId (HMAC-SHA256 keyed by `kms-byok-emulator/key-material-id/v1/<key
 * id>`, over the raw material for symmetric/HMAC keys) is computed from each material it holds.
 */
import { createHash, createHmac } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KMSClient, ListKeyRotationsCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll } from 'vitest';
import { disposePayload, openEscrow } from '../../src/escrow/index.js';
import { readEscrow } from '../../src/escrow/file-store.js';
import { checkValue } from '../../src/material/check-value.js';
import { workspace, type RunResult, type Workspace } from '../e2e/harness.js';
import { custodian } from '../e2e/identities.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Heavier cases (every operation × fault, every crash step, more fuzz runs). CI and test:faults set it. */
export const SLOW = process.env.KMS_BYOK_SLOW === '1';

/** A custodian: an age identity, its recipient, and the identity file (mode 0600). */
export interface Custodian {
  identity: string;
  recipient: string;
  path: string;
}

/** What every suite file shares: its workspace (emulator + temp dir), custodian Alice, its summary. */
export interface ReliabilityContext {
  readonly summary: Summary;
  readonly ws: Workspace;
  readonly alice: Custodian;
  /** A tag unique within the file, for escrow directories and aliases: `${prefix}${n}`. */
  tag(prefix: string): string;
}

/**
 * Registers the suite file's hooks: before all, a fresh workspace (the in-test emulator over
 * loopback) and custodian Alice (then `setup`, e.g. more custodians or a key); after all, the summary
 * is written for scripts/reliability/table.mjs and the workspace closed.
 */
export function reliabilityWorkspace(suite: string, setup?: (ctx: ReliabilityContext) => Promise<void>): ReliabilityContext {
  const summary = new Summary(suite);
  let ws: Workspace | undefined;
  let alice: Custodian | undefined;
  let n = 0;
  const ctx: ReliabilityContext = {
    summary,
    get ws() {
      if (!ws) throw new Error('the reliability workspace is made in beforeAll');
      return ws;
    },
    get alice() {
      if (!alice) throw new Error('the reliability workspace is made in beforeAll');
      return alice;
    },
    tag: (prefix) => `${prefix}${++n}`,
  };
  beforeAll(async () => {
    ws = await workspace();
    alice = await custodian(ws.path('alice.txt'));
    await setup?.(ctx);
  }, 120_000);
  afterAll(async () => {
    summary.write();
    for (const c of regional.values()) c.destroy();
    regional.clear();
    await ws?.close();
  });
  return ctx;
}

/** A known 32-byte AES material (not random: the scans look for it everywhere). */
export const KNOWN_AES = createHash('sha256').update('kms-byok reliability: known AES-256 material').digest();
/** A known 64-byte HMAC_512 material. */
export const KNOWN_HMAC = Buffer.concat([
  createHash('sha256').update('kms-byok reliability: known HMAC material 1').digest(),
  createHash('sha256').update('kms-byok reliability: known HMAC material 2').digest(),
]);

// ------------------------------------------------------------------------------------------------
// Secret scanning
// ------------------------------------------------------------------------------------------------

/** The textual forms a secret could leak in: hex (both cases), base64, base64url, and raw bytes. */
export function secretForms(secret: Uint8Array): { text: string[]; raw: Buffer } {
  const b = Buffer.from(secret);
  const b64 = b.toString('base64');
  return {
    text: [b.toString('hex'), b.toString('hex').toUpperCase(), b64, b64.replace(/=+$/, ''), b.toString('base64url')],
    raw: b,
  };
}

/** Number of places where any form of any secret occurs in `haystack`. */
export function countSecretHits(haystack: string | Uint8Array, secrets: readonly Uint8Array[]): number {
  const buf = typeof haystack === 'string' ? Buffer.from(haystack, 'utf8') : Buffer.from(haystack);
  const text = typeof haystack === 'string' ? haystack : buf.toString('latin1');
  let hits = 0;
  for (const s of secrets) {
    const f = secretForms(s);
    for (const t of f.text) if (text.includes(t)) hits++;
    // A 16-byte window of the raw material (enough to be unmistakable, catches partial dumps).
    if (buf.includes(f.raw.subarray(0, 16))) hits++;
  }
  return hits;
}

/** Every regular file under `dir` (recursively). */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

// ------------------------------------------------------------------------------------------------
// Escrow snapshots and the "no material in KMS without an escrow" oracle
// ------------------------------------------------------------------------------------------------

/**
 * sha256 of every sealed escrow file (`*.age`, share and part files — not sidecars, not temps), and
 * the content of append-only files (the transcript, `*.md`).
 */
export function sealedSnapshot(escrowDir: string): Map<string, string> {
  const m = new Map<string, string>();
  if (!existsSync(escrowDir)) return m;
  for (const name of readdirSync(escrowDir)) {
    if (name.startsWith('.') || name.endsWith('.json')) continue;
    const p = join(escrowDir, name);
    if (!statSync(p).isFile()) continue;
    m.set(name, name.endsWith('.md') ? readFileSync(p, 'latin1') : createHash('sha256').update(readFileSync(p)).digest('hex'));
  }
  return m;
}

/**
 * Sealed files that changed or disappeared between two snapshots, and append-only files that were
 * not appended to (truncated or rewritten): must be none.
 */
export function sealedChanges(before: Map<string, string>, after: Map<string, string>): string[] {
  const bad: string[] = [];
  for (const [name, h] of before) {
    const now = after.get(name);
    if (now === undefined) bad.push(`${name} removed`);
    else if (name.endsWith('.md') ? !now.startsWith(h) : now !== h) bad.push(`${name} ${name.endsWith('.md') ? 'not append-only' : 'changed'}`);
  }
  return bad;
}

/** Sidecars that do not parse as JSON (a truncated sidecar; must be none). */
export function brokenSidecars(escrowDir: string): string[] {
  if (!existsSync(escrowDir)) return [];
  const bad: string[] = [];
  for (const name of readdirSync(escrowDir).filter((n) => n.endsWith('.json') && !n.startsWith('.'))) {
    try {
      JSON.parse(readFileSync(join(escrowDir, name), 'utf8'));
    } catch {
      bad.push(name);
    }
  }
  return bad;
}

export function emulatorMaterialId(keyId: string, material: Uint8Array): string {
  return createHmac('sha256', Buffer.from(`kms-byok-emulator/key-material-id/v1/${keyId}`, 'utf8')).update(material).digest('hex');
}

/** Every material (raw bytes) in every escrow version of every key in `escrowDir`, by key id. */
export async function escrowedMaterials(escrowDir: string, identity: string): Promise<Map<string, Buffer[]>> {
  const out = new Map<string, Buffer[]>();
  if (!existsSync(escrowDir)) return out;
  for (const f of readdirSync(escrowDir).filter((n) => /\.v\d+\.age\.json$/.test(n))) {
    const keyId = f.replace(/\.v\d+\.age\.json$/, '');
    const payload = await openEscrow(await readEscrow(join(escrowDir, f)), { identities: [identity] }, { computeCheckValue: checkValue });
    const list = out.get(keyId) ?? [];
    for (const m of payload.materials) list.push(m.material.use((b) => Buffer.from(b)));
    disposePayload(payload);
    out.set(keyId, list);
  }
  return out;
}

const regional = new Map<string, KMSClient>();

/**
 * The client for `key` (a key id, or a key ARN — possibly of another Region than `kms`'s, as in a
 * fleet plan over two Regions) and the key id: a client for the ARN's Region, on the same endpoint
 * and credentials, is made once and closed with the workspace.
 */
export async function kmsForKey(kms: KMSClient, key: string): Promise<{ client: KMSClient; keyId: string }> {
  const arn = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):\d{12}:key\/(.+)$/.exec(key);
  if (!arn) return { client: kms, keyId: key };
  const region = arn[1]!;
  if (region === (await kms.config.region())) return { client: kms, keyId: arn[2]! };
  const endpoint = await kms.config.endpoint!();
  const url = `${endpoint.protocol}//${endpoint.hostname}${endpoint.port ? `:${endpoint.port}` : ''}${endpoint.path}`;
  let client = regional.get(`${url} ${region}`);
  if (!client) {
    client = new KMSClient({ region, endpoint: url, credentials: await kms.config.credentials(), maxAttempts: 1 });
    regional.set(`${url} ${region}`, client);
  }
  return { client, keyId: arn[2]! };
}

/** KeyMaterialIds KMS lists for `key` (id or ARN; every material ever imported and not deleted). */
export async function kmsMaterialIds(kms: KMSClient, key: string): Promise<string[]> {
  const { client, keyId } = await kmsForKey(kms, key);
  const r = await client.send(new ListKeyRotationsCommand({ KeyId: keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }));
  return (r.Rotations ?? []).map((m) => m.KeyMaterialId!).filter(Boolean);
}

/**
 * KeyMaterialIds that KMS holds for `keyIds` (ids, or ARNs of any Region) but no escrow in
 * `escrowDir` holds (must be none). Symmetric/HMAC keys only (the emulator's id is over the raw bytes).
 */
export async function materialsLost(kms: KMSClient, keyIds: readonly string[], escrowDir: string, identity: string): Promise<string[]> {
  const escrowed = await escrowedMaterials(escrowDir, identity);
  const lost: string[] = [];
  for (const key of keyIds) {
    const { keyId } = await kmsForKey(kms, key);
    const held = new Set((escrowed.get(keyId) ?? []).map((m) => emulatorMaterialId(keyId, m)));
    for (const id of await kmsMaterialIds(kms, key)) if (!held.has(id)) lost.push(`${keyId}/${id}`);
  }
  return lost;
}

/**
 * How a failed run must report itself: an error line and a specific ERR code (a `kms-byok: code:`
 * line, or — for a fleet run — the code in each failed key's error line), never `internal error`,
 * ERR_INTERNAL or a stack trace. Undefined when the run is fine; else what is wrong.
 */
export function badManners(r: RunResult): string | undefined {
  if (![0, 1, 2, 3].includes(r.code)) return `exit ${r.code}`;
  if (/error: internal error/.test(r.stderr) || /\bERR_INTERNAL\b/.test(r.stderr)) return `internal error: ${r.stderr.slice(-400)}`;
  if (/\n\s+at .+:\d+:\d+/.test(r.stderr)) return `stack trace: ${r.stderr.slice(-400)}`;
  if (r.code === 1 || r.code === 2) {
    if (!/^kms-byok: error: /m.test(r.stderr)) return `no error line: ${r.stderr.slice(-300)}`;
    if (!/^kms-byok: code: ERR_[A-Z_]+$/m.test(r.stderr) && !/^kms-byok: error: .*\bERR_[A-Z_]+: /m.test(r.stderr)) return `no ERR code: ${r.stderr.slice(-300)}`;
  }
  return undefined;
}

// ------------------------------------------------------------------------------------------------
// Summary
// ------------------------------------------------------------------------------------------------

export interface ScenarioOutcome {
  /** The ceremony, e.g. "rotate --in-place". */
  ceremony: string;
  /** The fault class, e.g. "KMS ThrottlingException". */
  fault: string;
  /** Completed by the run itself or by a re-run. */
  completed: boolean;
  /** Whether a re-run was needed. */
  rerun: boolean;
  materialsLost: number;
  escrowFilesDamaged: number;
  secretsFound: number;
}

export interface TamperOutcome {
  input: string;
  tried: number;
  /** Refused with an ERR code (or, for files, detected as tampered). */
  rejected: number;
  /** Arbitrary values that were valid and accepted (fuzzed flags only: e.g. any --description). */
  accepted: number;
}

/** Collects a suite file's outcomes and writes them to `.tmp/reliability/<suite>.json`. */
export class Summary {
  readonly scenarios: ScenarioOutcome[] = [];
  readonly tamper: TamperOutcome[] = [];
  readonly hygiene: { scanned: number; secretsFound: number; files: number }[] = [];
  constructor(readonly suite: string) {}

  scenario(o: ScenarioOutcome): void {
    this.scenarios.push(o);
  }

  tampered(input: string, tried: number, rejected: number, accepted = 0): void {
    const t = this.tamper.find((x) => x.input === input);
    if (t) {
      t.tried += tried;
      t.rejected += rejected;
      t.accepted += accepted;
    } else this.tamper.push({ input, tried, rejected, accepted });
  }

  write(): void {
    const dir = join(ROOT, '.tmp', 'reliability');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, `${this.suite}.json`),
      `${JSON.stringify({ suite: this.suite, slow: SLOW, at: new Date().toISOString(), scenarios: this.scenarios, tamper: this.tamper, hygiene: this.hygiene }, null, 2)}\n`,
    );
  }
}
