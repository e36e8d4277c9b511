/**
 * The escrow directory read without a secret (status, and every command that first looks): the
 * latest version of a key, its sidecar and which sealed files are missing or damaged, and a key's HSM
 * custody record. Read only. Apart from cli/context.ts (which re-exports all of it) so that reading
 * sidecars loads the escrow format and file edge only, not the vault, age or the ceremonies
 * (docs/architecture.md, "The build").
 */
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { findLatestVersion, indexLatestVersions, readEscrow } from '../escrow/file-store.js';
import type { EscrowRef } from '../ceremony/escrow-facts.js';

export { findLatestVersion, indexLatestVersions, readEscrow };

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Reads an escrow version (by any of its files) and notes sealed files that are missing or damaged. */
export async function loadEscrowRef(path: string, found = false): Promise<EscrowRef> {
  const loaded = await readEscrow(path, { found });
  const damaged = [...loaded.missing];
  for (const f of loaded.files) {
    const entry = loaded.sidecar.files.find((x) => x.name === f.name);
    if (entry && entry.sha256 !== sha256(f.bytes)) damaged.push(f.name);
  }
  const dir = dirname(loaded.sidecarPath);
  const main = loaded.sidecar.files.find((f) => f.role === 'recipients' || f.role === 'threshold-payload') ?? loaded.sidecar.files.find((f) => f.role === 'passphrase');
  return { path: main ? join(dir, main.name) : loaded.sidecarPath, sidecarPath: loaded.sidecarPath, sidecar: loaded.sidecar, damaged };
}

/** Finds the latest version of a key's escrow in a directory (default: {@link findLatestVersion}). */
export type VersionFinder = (dir: string, keyId: string) => Promise<{ escrowVersion: number; sidecarPath: string } | undefined>;

/** The latest escrow version of `keyId` in `dir`, or undefined. */
export async function latestEscrow(dir: string, keyId: string, find: VersionFinder = findLatestVersion): Promise<EscrowRef | undefined> {
  const latest = await find(dir, keyId);
  return latest ? loadEscrowRef(latest.sidecarPath, true) : undefined;
}

/**
 * The HSM custody record of a key in the escrow directory (`<key-id>.pkcs11.json`, docs/hsm.md), for
 * status: read only, never through a link; undefined when there is none.
 */
export async function custodyRecordOf(dir: string, keyId: string): Promise<{ path: string; token: string; materials: { keyMaterialId?: string; checkValues: string[] }[] } | undefined> {
  const { readFile, lstat } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const path = join(dir, `${keyId}.pkcs11.json`);
  const st = await lstat(path).catch(() => undefined);
  if (!st || !st.isFile()) return undefined;
  const record = JSON.parse(await readFile(path, 'utf8')) as { format?: string; materials?: { keyMaterialId?: string; checkValues: string[]; token: { label: string; serial: string } }[] };
  if (record.format !== 'kms-byok-hsm-custody' || !Array.isArray(record.materials) || record.materials.length === 0) return undefined;
  const t = record.materials[0]!.token;
  return { path, token: `${t.label} (serial ${t.serial})`, materials: record.materials };
}
