/**
 * Shared by the reliability suite (issue 9): known secrets and the scan for them, escrow snapshots
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
import { ListKeyRotationsCommand, type KMSClient } from '@aws-sdk/client-kms';
import { disposePayload, openEscrow } from '../../src/escrow/index.js';
import { readEscrow } from '../../src/escrow/file-store.js';
import { checkValue } from '../../src/material/check-value.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Heavier cases (every operation × fault, every crash step, more fuzz runs). CI and test:faults set it. */
export const SLOW = process.env.KMS_BYOK_SLOW === '1';

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

/** KeyMaterialIds KMS lists for `keyId` (every material ever imported and not deleted). */
export async function kmsMaterialIds(kms: KMSClient, keyId: string): Promise<string[]> {
  const r = await kms.send(new ListKeyRotationsCommand({ KeyId: keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }));
  return (r.Rotations ?? []).map((m) => m.KeyMaterialId!).filter(Boolean);
}

/**
 * KeyMaterialIds that KMS holds for `keyIds` but no escrow in `escrowDir` holds (must be none).
 * Symmetric/HMAC keys only (the emulator's id is over the raw bytes).
 */
export async function materialsLost(kms: KMSClient, keyIds: readonly string[], escrowDir: string, identity: string): Promise<string[]> {
  const escrowed = await escrowedMaterials(escrowDir, identity);
  const lost: string[] = [];
  for (const keyId of keyIds) {
    const held = new Set((escrowed.get(keyId) ?? []).map((m) => emulatorMaterialId(keyId, m)));
    for (const id of await kmsMaterialIds(kms, keyId)) if (!held.has(id)) lost.push(`${keyId}/${id}`);
  }
  return lost;
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
