/**
 * `kms-byok reimport KEY...`: scripted periodic renewal. Opens each key's escrow unattended
 * (--identity or --passphrase-file), re-imports every material with a new expiry, records it, verifies.
 * `--before 30d` acts only on keys whose earliest ValidTo falls within 30 days (daily schedules).
 */
import { ExitCode, KmsByokError } from '../../core/errors.js';
import { parseDuration } from '../../core/time.js';
import type { ReimportResult } from '../../ceremony/reimport.js';
import { bool, missing, str, type Parsed } from '../args.js';
import { helpText, parseCommand } from '../command-spec.js';
import { REIMPORT } from '../specs/reimport.js';
import { hsmFlagsGiven } from '../hsm-flags.js';
import { say, type Io } from '../io.js';
import { printRows } from '../render.js';
import { errorObject, printDocument, reimportDocument } from '../documents.js';
import { parseExpiry } from './onboard.js';
import { optionalOpener, runCeremony } from '../ceremony-run.js';
import { escrowKeyIdOfPath, keyIdOf, loadEscrowRef } from '../context.js';
import { resolve } from 'node:path';


/** Refuses, before any KMS call, an explicit --escrow that belongs to another key than the one named. */
export async function assertEscrowFileMatches(p: Parsed, io: Io, keys: string[]): Promise<void> {
  const file = str(p, 'escrow');
  if (file === undefined || keys.length === 0) return;
  if (keys.length > 1) throw new KmsByokError('ERR_USAGE', '--escrow takes one key: its escrow belongs to exactly one key', { hint: 'use --escrow-dir for several keys' });
  const ref = await loadEscrowRef(resolve(io.cwd, file));
  const escrowKey = ref.sidecar.manifest.keyId ?? escrowKeyIdOfPath(file);
  const given = keyIdOf(keys[0]!);
  if (given !== undefined && given !== escrowKey) {
    throw new KmsByokError('ERR_ESCROW_WRONG_KEY', `escrow ${file} belongs to key ${escrowKey}, not ${given}`, {
      hint: 'give the escrow of this key (escrow/<key-id>.v<N>.age); nothing was sent to KMS',
    });
  }
}

export async function reimport(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(argv, REIMPORT, io.env);
  if (bool(p, 'help')) {
    io.stdout.write(helpText(REIMPORT));
    return ExitCode.ok;
  }
  if (str(p, 'plan') !== undefined) return (await import('../../fleet/per-key.js')).reimportPlan(p, io);
  const keys = p.positionals;
  if (keys.length === 0) throw missing('KEY', 'which key to re-import (key id, ARN or alias/NAME)', 'kms-byok reimport alias/payments --expires-in 90d --identity custodian.txt');
  const expiry = parseExpiry(p);
  const beforeText = str(p, 'before');
  const beforeMs = beforeText === undefined ? undefined : parseDuration(beforeText, '--before');
  if (hsmFlagsGiven(p)) {
    const hsm = await import('../hsm-run.js');
    if (hsm.wantsHsmCustody(p)) return hsm.runHsmCommand('reimport', p, io, expiry);
  }
  await assertEscrowFileMatches(p, io, keys);
  const opener = await optionalOpener(p, io);
  if (!opener) throw missing('--identity, --share or --passphrase-file', 'how to open the escrow unattended', 'pass --identity custodian.txt (an age identity file), --share FILE (hand-overs of a split escrow) or --passphrase-file FILE');
  try {
    const results: ReimportResult[] = [];
    const failures: { key: string; error: ReturnType<typeof errorObject> }[] = [];
    for (const key of keys) {
      // With several keys, one failure does not stop the others (a daily job renews what it can).
      const result = await runCeremony<ReimportResult>(
        p,
        io,
        {
          ceremony: 'reimport',
          subject: keyIdOf(key) ?? key,
          opener,
          // Re-import is the renewal the renewal seal exists for (docs/custody.md, "Renewal seals").
          store: { purpose: 'renewal' },
          needsEscrow: true,
          record: (r) => [
            ['key', r?.keyArn ?? key],
            ['escrow', r?.escrow],
            ['materials', r?.materials.map((m) => `${m.index}: ${m.keyMaterialId ?? 'no id'} ${m.reimported ? `re-imported, ${m.validTo ? `ValidTo ${m.validTo}` : 'no expiry'}` : 'unchanged'}`)],
          ],
          outcome: (r) => r.action,
          document: reimportDocument,
          keyOf: (r) => r.keyId,
          quiet: (r) => r.action === 'not-due',
        },
        async ({ deps }) => {
          const { runReimport } = await import('../../ceremony/reimport.js');
          return runReimport({ key, expiry, mode: 'reimport', ...(beforeMs !== undefined ? { beforeMs } : {}) }, deps);
        },
      ).catch((e: unknown) => {
        if (keys.length === 1 || !(e instanceof KmsByokError)) throw e;
        say(io, 'error', `${key}: ${e.message}`);
        if (e.hint) say(io, 'hint', e.hint);
        io.stderr.write(`kms-byok: code: ${e.code}\n`);
        failures.push({ key, error: errorObject(e.code, e.message, e.hint) });
        return undefined;
      });
      if (result) results.push(result);
    }
    if (bool(p, 'json')) printDocument(io, keys.length === 1 ? reimportDocument(results[0]!) : { keys: results.map(reimportDocument), failures });
    else for (const r of results) renderReimport(io, r);
    if (failures.length > 0) {
      say(io, 'error', `${failures.length} of ${keys.length} keys failed: ${failures.map((f) => f.key).join(', ')}`);
      return ExitCode.failed;
    }
    return ExitCode.ok;
  } finally {
    if ('passphrase' in opener) opener.passphrase.dispose();
  }
}

export function renderReimport(io: Io, r: ReimportResult): void {
  const lacking = r.materials.filter((m) => (m.importStateBefore ?? m.importState) === 'PENDING_IMPORT');
  printRows(io, [
    ['key', r.keyArn],
    ['result', r.action],
    ['state', r.keyState],
    ['ValidTo before', r.earliestValidTo ? `${r.earliestValidTo} (earliest)` : undefined],
    [
      'missing before',
      lacking.length > 0
        ? `material ${lacking.map((m) => m.index).join(', ')}: not in KMS (revoked or expired)${lacking.every((m) => m.reimported) ? ', imported again from the escrow' : ''}`
        : undefined,
    ],
    ...r.materials.map((m): [string, string] => [
      `material ${m.index}`,
      [m.keyMaterialId, m.keyMaterialState, m.reimported ? 're-imported' : 'unchanged', m.validTo ? `ValidTo ${m.validTo}` : m.expirationModel === 'KEY_MATERIAL_DOES_NOT_EXPIRE' ? 'no expiry' : undefined]
        .filter(Boolean)
        .join('  '),
    ]),
    ['escrow', r.escrow],
    ['verified', r.verified],
  ]);
  if (r.action === 'not-due') say(io, 'note', `${r.keyId} is not due: nothing was imported`);
}
