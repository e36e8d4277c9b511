/**
 * `kms-byok status [KEY...]`: state, materials, expiry, rotation age and escrow match of keys; exit 3
 * when anything needs action (expiry within --warn-days, rotation older than --max-age, material
 * missing, escrow missing or not matching). Reads sidecars only: no secret is needed.
 */
import { resolve } from 'node:path';
import { ExitCode, KmsByokError } from '../../core/errors.js';
import { parseDuration } from '../../core/time.js';
import type { StatusResult } from '../../ceremony/status.js';
import { bool, str } from '../args.js';
import { helpText, parseCommand } from '../command-spec.js';
import { STATUS } from '../specs/status.js';
import { say, type Io } from '../io.js';
import { printDocument, statusDocument } from '../documents.js';

import { openTarget } from '../target.js';
import { custodyRecordOf, indexLatestVersions, latestEscrow, readEscrow } from '../sidecars.js';

/** Keys with an escrow in `dir` and the Region each manifest names (unreadable sidecars are skipped: status reports them per key). */
async function escrowedKeys(dir: string): Promise<{ keyId: string; region: string; path: string }[]> {
  const out: { keyId: string; region: string; path: string }[] = [];
  for (const [keyId, v] of await indexLatestVersions(dir)) {
    try {
      out.push({ keyId, region: (await readEscrow(v.sidecarPath, { found: true })).sidecar.manifest.region, path: v.sidecarPath });
    } catch {
      /* reported by the key's own row when the key is listed */
    }
  }
  return out;
}


export async function status(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(argv, STATUS, io.env);
  if (bool(p, 'help')) {
    io.stdout.write(helpText(STATUS));
    return ExitCode.ok;
  }
  if (str(p, 'plan') !== undefined) return (await import('../../fleet/per-key.js')).statusPlan(p, io);
  const warnText = str(p, 'warn-days') ?? '30';
  if (!/^\d{1,4}$/.test(warnText)) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `invalid --warn-days "${warnText}": expected a whole number of days`, { hint: 'e.g. --warn-days 30' });
  }
  const formatText = str(p, 'format');
  if (formatText !== undefined && !['human', 'json', 'prometheus'].includes(formatText)) {
    throw new KmsByokError('ERR_INVALID_ARGUMENT', `invalid --format "${formatText}"`, { hint: formatText === 'html' ? 'the page is of a fleet: status --plan FILE --format html' : 'use human, json or prometheus' });
  }
  if (str(p, 'out') !== undefined) throw new KmsByokError('ERR_USAGE', '--out takes the page of status --plan FILE --format html', { hint: 'add --plan FILE --format html, or drop --out' });
  const maxAge = str(p, 'max-age');
  const maxAgeMs = maxAge === undefined ? undefined : parseDuration(maxAge, '--max-age');
  const escrowDir = resolve(io.cwd, str(p, 'escrow-dir') ?? 'escrow');
  // Loaded while the target opens (its SDK load and the emulator clock's round trip), not after it.
  const statusModule = import('../../ceremony/status.js');
  const lastUseModule = import('../last-use.js');
  for (const m of [statusModule, lastUseModule]) m.catch(() => {}); // awaited below; unhandled only if openTarget throws first
  const target = await openTarget(p, io);
  let result: StatusResult;
  try {
    const { runStatus } = await statusModule;
    result = await runStatus(
      { keys: p.positionals, warnDays: Number(warnText), ...(maxAgeMs !== undefined ? { maxAgeMs } : {}) },
      { kms: target.kms, now: target.now, escrowOf: (keyId) => latestEscrow(escrowDir, keyId), custodyOf: (keyId) => custodyRecordOf(escrowDir, keyId), escrowedKeys: () => escrowedKeys(escrowDir) },
    );
    await (await lastUseModule).addLastUse(result, target.kms);
  } finally {
    await target.close();
  }
  const format = str(p, 'format') ?? (bool(p, 'json') ? 'json' : 'human');
  if (format === 'prometheus') {
    // Alerts live in Prometheus: the metrics carry the attention flag, so a textfile-collector job
    // exits 0 unless the status itself could not be taken.
    io.stdout.write((await import('../../records/prometheus.js')).renderPrometheus(result, target.now()));
    return ExitCode.ok;
  }
  if (format === 'json') printDocument(io, statusDocument(result, escrowDir, target.label));
  else render(io, result);
  for (const k of result.keys) for (const a of k.attention) say(io, 'warning', `${k.keyId}: ${a}`);
  return result.attention ? ExitCode.attention : ExitCode.ok;
}

function render(io: Io, r: StatusResult): void {
  if (r.keys.length === 0) {
    io.stdout.write('no EXTERNAL keys found\n');
    return;
  }
  const rows = [['KEY', 'STATE', 'VALIDTO', 'DAYS', 'MATERIALS', 'LAST ROTATION', 'ROTATIONS LEFT', 'ESCROW', 'ACTION', 'LAST USE']];
  for (const k of r.keys) {
    const imported = k.materials.filter((m) => m.importState !== 'PENDING_IMPORT').length;
    rows.push([
      k.keyId,
      k.keyState,
      k.validTo?.replace(/\.\d{3}Z$/, 'Z') ?? (k.materials.some((m) => m.expirationModel === 'KEY_MATERIAL_DOES_NOT_EXPIRE') ? 'never' : '-'),
      k.daysLeft === undefined ? '-' : String(k.daysLeft),
      `${imported}/${k.materials.length}`,
      k.lastRotation ? `${k.lastRotation.slice(0, 10)} (${k.rotationAgeDays}d)` : k.rotationAgeDays !== undefined ? `never (${k.rotationAgeDays}d old)` : '-',
      k.onDemandRotationsLeft === undefined ? '-' : String(k.onDemandRotationsLeft),
      k.error ? 'UNREADABLE' : k.keyState === 'NotListed' ? 'NOT LISTED' : k.escrow.exists ? (k.escrow.anchors === 'mismatch' ? `v${k.escrow.version} ANCHOR MISMATCH` : k.escrow.matches && k.escrow.anchors === 'not-anchored' ? `v${k.escrow.version} NOT ANCHORED` : k.escrow.matches ? `v${k.escrow.version} ok${k.custody?.tokenOnly ? ` + pkcs11 ok (${k.custody.tokenOnly.length} in the token only)` : ''}` : k.escrow.unconfirmed ? `v${k.escrow.version} UNCONFIRMED` : `v${k.escrow.version} MISMATCH`) : k.custody ? `pkcs11 ${k.custody.matches ? 'ok' : 'MISMATCH'}` : 'MISSING',
      k.attention.length > 0 ? 'yes' : '-',
      k.lastUse?.missing ? 'MISSING' : k.lastUse?.time ? `${k.lastUse.time.replace(/\.\d{3}Z$/, 'Z')} ${k.lastUse.operation ?? ''}`.trim() : k.lastUse ? 'none' : '-',
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows) io.stdout.write(`${row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
}
