/**
 * `status --format prometheus`: the node_exporter textfile-collector format, so expiry alerts live
 * in Prometheus/Alertmanager. One gauge family per fact; labels identify key, Region and material.
 */
import type { StatusResult } from '../ceremony/status.js';

function label(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labels(pairs: Record<string, string | undefined>): string {
  const parts = Object.entries(pairs)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => `${k}="${label(v)}"`);
  return `{${parts.join(',')}}`;
}

const FAMILIES = {
  kms_byok_material_expiry_seconds: 'Seconds until the imported key material expires (negative once expired); absent when it never expires.',
  kms_byok_material_imported: '1 while the key material is imported, 0 when it is pending import (expired or deleted).',
  kms_byok_rotation_age_seconds: 'Seconds since the last rotation (or since creation when never rotated).',
  kms_byok_on_demand_rotations_left: 'On-demand rotations AWS still allows for the key.',
  kms_byok_key_enabled: '1 when the key state is Enabled.',
  kms_byok_escrow_present: '1 when an escrow for the key exists in the escrow directory.',
  kms_byok_escrow_matches: '1 when the escrow matches what KMS lists (material ids, check values, file hashes).',
  kms_byok_attention: '1 when kms-byok status would ask for action (exit 3).',
  kms_byok_key_readable: '0 when the key could not be read (AccessDenied, throttled, unreachable): its other gauges are missing, not healthy.',
} as const;

/**
 * Renders a status result; `now` is the time the status was taken. `aliasOf` gives the alias a key
 * was named by (a plan entry `alias/payments`): it is added as an `alias` label to the key's gauges.
 */
export function renderPrometheus(r: StatusResult, now: Date, aliasOf: (keyId: string) => string | undefined = () => undefined): string {
  const lines: Record<keyof typeof FAMILIES, string[]> = {
    kms_byok_material_expiry_seconds: [],
    kms_byok_material_imported: [],
    kms_byok_rotation_age_seconds: [],
    kms_byok_on_demand_rotations_left: [],
    kms_byok_key_enabled: [],
    kms_byok_escrow_present: [],
    kms_byok_escrow_matches: [],
    kms_byok_attention: [],
    kms_byok_key_readable: [],
  };
  for (const k of r.keys) {
    const key = { key_id: k.keyId, alias: aliasOf(k.keyId), region: k.region };
    for (const m of k.materials) {
      const l = labels({ ...key, key_material_id: m.keyMaterialId ?? 'unknown' });
      if (m.validTo) lines.kms_byok_material_expiry_seconds.push(`kms_byok_material_expiry_seconds${l} ${Math.round((Date.parse(m.validTo) - now.getTime()) / 1000)}`);
      lines.kms_byok_material_imported.push(`kms_byok_material_imported${l} ${m.importState === 'PENDING_IMPORT' ? 0 : 1}`);
    }
    const l = labels({ ...key, key_state: k.keyState });
    const rotated = k.lastRotation ? Math.round((now.getTime() - Date.parse(k.lastRotation)) / 1000) : k.rotationAgeDays !== undefined ? k.rotationAgeDays * 86_400 : undefined;
    if (rotated !== undefined) lines.kms_byok_rotation_age_seconds.push(`kms_byok_rotation_age_seconds${labels(key)} ${rotated}`);
    if (k.onDemandRotationsLeft !== undefined) lines.kms_byok_on_demand_rotations_left.push(`kms_byok_on_demand_rotations_left${labels(key)} ${k.onDemandRotationsLeft}`);
    lines.kms_byok_key_enabled.push(`kms_byok_key_enabled${l} ${k.keyState === 'Enabled' ? 1 : 0}`);
    lines.kms_byok_escrow_present.push(`kms_byok_escrow_present${labels(key)} ${k.escrow.exists ? 1 : 0}`);
    lines.kms_byok_escrow_matches.push(`kms_byok_escrow_matches${labels(key)} ${k.escrow.matches ? 1 : 0}`);
    lines.kms_byok_attention.push(`kms_byok_attention${labels(key)} ${k.attention.length > 0 ? 1 : 0}`);
    lines.kms_byok_key_readable.push(`kms_byok_key_readable${labels({ ...key, error: k.error?.code })} ${k.error ? 0 : 1}`);
  }
  let out = '';
  for (const [name, help] of Object.entries(FAMILIES) as [keyof typeof FAMILIES, string][]) {
    out += `# HELP ${name} ${help}\n# TYPE ${name} gauge\n`;
    for (const line of lines[name]) out += `${line}\n`;
  }
  return out;
}
