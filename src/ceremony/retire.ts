/**
 * `retire`: the end of a key's life (docs/audit.md, "Retire"). Shows the usage evidence, then one step:
 * disable (reversible), schedule deletion (7–30 days), cancel a scheduled deletion (the key stays
 * disabled), or enable. Pure over the KMS and CloudTrail ports; the CLI confirms and records.
 *
 * Contracts:
 * - Disable and schedule-deletion are refused (ERR_RETIRE_REFUSED) while an alias targets the key,
 *   while the evidence shows a use within `quietForMs`, or while the evidence is incomplete (a source
 *   MISSING cannot show the key is quiet) — unless `force` (the CLI requires a reason with it).
 * - Schedule-deletion needs the key disabled first (AWS's advice: disable, watch for DisabledException),
 *   unless `force`; for an EXTERNAL key it needs the latest escrow OPENED (every check of opening: file
 *   SHA-256, age authentication, manifest, check values recomputed), naming every KeyMaterialId KMS
 *   lists, with the key's anchor tags vouching for it (`openedEscrowCoverage`) — unless `withoutEscrow`.
 *   `force` never overrides the escrow check. For other origins it does not apply and the result says so.
 * - Cancel needs a key pending deletion; enable a disabled key. Nothing is sent to KMS before every
 *   check passed and `confirm` returned.
 * - After an answer that leaves the outcome unknown, DescribeKey decides: the step is reported done
 *   only when KMS shows the new state.
 */
import { KmsByokError } from '../core/errors.js';
import { disposePayload } from '../escrow/index.js';
import { assertAnchored } from './anchor.js';
import { assertEscrowOfKey, materialsOf, pairMaterials, type LifecycleEscrow } from './shared.js';
import type { CloudTrailPort } from '../kms/cloudtrail-port.js';
import { outcomeUnknown, type KeyInfo, type KmsPort } from '../kms/port.js';
import { gatherUsage, type UsageEvidence } from './usage.js';

export type RetireAction = 'show' | 'disable' | 'schedule-deletion' | 'cancel' | 'enable';

export interface RetireOptions {
  key: string;
  action: RetireAction;
  quietForMs: number;
  /** Overrides the alias, quiet and disabled-first checks (the CLI requires --reason). */
  force: boolean;
  pendingWindowDays?: number;
  withoutEscrow: boolean;
}

export interface EscrowCoverage {
  /** false: the key is not EXTERNAL, so no escrow applies. */
  applies: boolean;
  covered: boolean;
  path?: string;
  problem?: string;
}

export interface RetireDeps {
  kms: KmsPort;
  trail: CloudTrailPort | undefined;
  /** Why CloudTrail is missing when `trail` is undefined. */
  trailMissingReason?: string;
  now(): Date;
  /** Whether the escrow covers every material of the (EXTERNAL) key. */
  escrowCoverage(key: KeyInfo): Promise<EscrowCoverage>;
  /** Asks for confirmation of `consequences` on the key (its id and the aliases naming it); throws (ERR_NOT_CONFIRMED) when refused. */
  confirm(consequences: string[], key: { keyId: string; aliases: string[] }): Promise<void>;
  progress(step: string): void;
}

export interface RetireResult {
  keyId: string;
  keyArn: string;
  origin: string;
  action: RetireAction;
  stateBefore: string;
  stateAfter: string;
  deletionDate?: string;
  aliases: string[];
  usage: UsageEvidence;
  /** Checks that were overridden with --force / --without-escrow. */
  overridden: string[];
  escrow: EscrowCoverage & { note: string };
  notes: string[];
}

const UNRECOVERABLE = 'ciphertexts of a deleted key cannot be decrypted, even with the escrow: a new key with the same material has another key id, and KMS ciphertexts name the key';

function refused(message: string, hint: string): KmsByokError {
  return new KmsByokError('ERR_RETIRE_REFUSED', message, { hint });
}

export async function runRetire(o: RetireOptions, deps: RetireDeps): Promise<RetireResult> {
  const { kms } = deps;
  const key = await kms.describeKey(o.key);
  const aliases = (await kms.listAliases(key.KeyId)).map((a) => a.AliasName);
  const usage = await gatherUsage(key.Arn, deps, o.quietForMs);
  const now = deps.now();
  const overridden: string[] = [];
  const notes: string[] = [];
  let escrow: RetireResult['escrow'] = { applies: key.Origin === 'EXTERNAL', covered: false, note: '' };
  const result = (stateAfter: string, extra: Partial<RetireResult> = {}): RetireResult => ({
    keyId: key.KeyId,
    keyArn: key.Arn,
    origin: key.Origin,
    action: o.action,
    stateBefore: key.KeyState,
    stateAfter,
    aliases,
    usage,
    overridden,
    escrow,
    notes,
    ...extra,
  });
  if (o.action === 'show') return result(key.KeyState);

  const override = (what: string, message: string, hint: string): void => {
    if (!o.force) throw refused(message, hint);
    overridden.push(what);
  };
  if (o.action === 'disable' || o.action === 'schedule-deletion') {
    if (key.KeyState === 'PendingDeletion') throw refused(`${key.KeyId} is already pending deletion (DeletionDate ${key.DeletionDate?.toISOString() ?? '?'})`, `kms-byok retire ${key.KeyId} --cancel stops it`);
    if (aliases.length > 0) {
      override('alias', `${aliases.join(', ')} still ${aliases.length === 1 ? 'targets' : 'target'} ${key.KeyId}`, 'move the alias to the new key first (kms-byok rotate --new-key does), or --force --reason "why"');
    }
    const quietSince = new Date(now.getTime() - o.quietForMs).toISOString();
    if (usage.lastUsedAt !== undefined && usage.lastUsedAt >= quietSince) {
      const who = usage.trail.status === 'ok' ? usage.trail.uses.find((u) => u.time === usage.lastUsedAt)?.principal : undefined;
      override('quiet-for', `${key.KeyId} was used at ${usage.lastUsedAt}${who ? ` by ${who}` : ''}, within --quiet-for`, 'wait until it has been quiet for --quiet-for (default 30d), find who uses it, or --force --reason "why"');
    } else if (!usage.complete) {
      override('evidence', `the usage evidence of ${key.KeyId} is incomplete: ${[usage.lastUsage, usage.trail].filter((s) => s.status === 'missing').map((s) => (s as { reason: string }).reason).join('; ')}`, 'grant cloudtrail:LookupEvents and kms:GetKeyLastUsage, or --force --reason "why" to act without evidence');
    }
  }
  if (o.action === 'schedule-deletion') {
    const days = o.pendingWindowDays;
    if (days === undefined || !Number.isInteger(days) || days < 7 || days > 30) throw new KmsByokError('ERR_INVALID_ARGUMENT', `invalid pending window ${String(days)}: KMS accepts 7 to 30 days`, { hint: 'e.g. --pending-window 7d' });
    if (key.KeyState === 'Enabled') override('disabled-first', `${key.KeyId} is Enabled: disable it first and watch for DisabledException before deleting`, `kms-byok retire ${key.KeyId} --disable, then --schedule-deletion after --quiet-for; or --force --reason "why"`);
    if (key.Origin === 'EXTERNAL') {
      const c = await deps.escrowCoverage(key);
      escrow = { ...c, note: c.covered ? `escrow ${c.path ?? ''} covers every material` : `no escrow covers every material: ${c.problem ?? 'unknown'}` };
      if (!c.covered) {
        if (!o.withoutEscrow) throw refused(`the escrow does not cover every material of ${key.KeyId}: ${c.problem ?? 'unknown'}`, 'the escrow must be opened (--identity FILE, --passphrase-file FILE or --share FILE) and hold every material; kms-byok verify KEY --identity FILE shows what is wrong; --without-escrow deletes anyway (the material is then gone for good)');
        overridden.push('escrow');
      }
    } else {
      escrow = { applies: false, covered: false, note: `escrow checks do not apply: the key's origin is ${key.Origin}, its material never left KMS` };
    }
    notes.push(UNRECOVERABLE);
  }
  if (o.action === 'cancel' && key.KeyState !== 'PendingDeletion') {
    throw refused(`${key.KeyId} is not pending deletion (state ${key.KeyState}): there is nothing to cancel`, 'kms-byok status KEY shows its state');
  }
  if (o.action === 'enable' && key.KeyState !== 'Disabled') {
    throw refused(`${key.KeyId} is ${key.KeyState}, not Disabled: enable applies to a disabled key`, key.KeyState === 'PendingDeletion' ? `cancel the deletion first: kms-byok retire ${key.KeyId} --cancel` : 'kms-byok status KEY shows its state');
  }

  const consequences: string[] = {
    disable: [`DisableKey ${key.Arn}: every Encrypt/Decrypt with it fails with DisabledException until --enable`],
    'schedule-deletion': [
      `ScheduleKeyDeletion ${key.Arn} with a ${o.pendingWindowDays} day window: KMS deletes the key and ALL its material when the window ends`,
      UNRECOVERABLE,
      `until then, kms-byok retire ${key.KeyId} --cancel stops it`,
    ],
    cancel: [`CancelKeyDeletion ${key.Arn}: the key comes back Disabled (kms-byok retire ${key.KeyId} --enable to use it)`],
    enable: [`EnableKey ${key.Arn}: the key can be used again`],
  }[o.action];
  await deps.confirm(consequences, { keyId: key.KeyId, aliases });

  const expected = { disable: 'Disabled', 'schedule-deletion': 'PendingDeletion', cancel: 'Disabled', enable: 'Enabled' }[o.action];
  let deletionDate: Date | undefined;
  try {
    if (o.action === 'disable') await kms.disableKey(key.KeyId);
    else if (o.action === 'enable') await kms.enableKey(key.KeyId);
    else if (o.action === 'cancel') await kms.cancelKeyDeletion(key.KeyId);
    else deletionDate = (await kms.scheduleKeyDeletion(key.KeyId, o.pendingWindowDays!)).DeletionDate;
  } catch (e) {
    if (!outcomeUnknown(e)) throw e;
    // Ask KMS before saying anything about what happened (docs/architecture.md, "Unknown outcomes").
    const after = await kms.describeKey(key.KeyId).catch(() => undefined);
    if (after?.KeyState !== expected && !(o.action === 'cancel' && after?.KeyState === 'PendingImport')) {
      throw new KmsByokError((e as KmsByokError).code, `${(e as Error).message}; the outcome is unknown (KMS shows the key ${after?.KeyState ?? 'unreadable'})`, { hint: 're-run the same command: it asks KMS first' });
    }
    deletionDate = after.DeletionDate;
  }
  const after = await kms.describeKey(key.KeyId);
  deps.progress(`${o.action}: ${key.KeyId} is ${after.KeyState}`);
  if (o.action === 'cancel' && after.KeyState === 'PendingImport') notes.push('the key lacks imported material: it is PendingImport until restored (kms-byok restore KEY)');
  deletionDate ??= after.DeletionDate;
  return result(after.KeyState, deletionDate ? { deletionDate: deletionDate.toISOString() } : {});
}

/**
 * The escrow check of schedule-deletion (docs/audit.md, "Retire"): the latest escrow of `key` is
 * opened with every check `open` makes (file SHA-256, age authentication, manifest, check values
 * recomputed), names every material KMS lists by KeyMaterialId, and the key's anchor tags vouch for
 * its materials (refused when they differ, or when the sidecar claims anchors the key lacks). A sidecar
 * alone is never enough: anyone who can write the escrow directory can write a sidecar.
 * `opened` false: no opener was given, so nothing can be proven (the result says which flags to give).
 */
export async function openedEscrowCoverage(kms: KmsPort, key: KeyInfo, escrow: Pick<LifecycleEscrow, 'latest' | 'open'>, opened: boolean): Promise<EscrowCoverage> {
  const ref = await escrow.latest(key.KeyId);
  if (!ref) return { applies: true, covered: false, problem: `no escrow of ${key.KeyId} in the escrow directory` };
  const path = ref.path;
  if (!opened) return { applies: true, covered: false, path, problem: `escrow ${path} was not opened (no --identity, --passphrase-file or --share): only an opened escrow proves it holds the material` };
  try {
    assertEscrowOfKey(ref.sidecar, key, path);
    const listed = await materialsOf(kms, key);
    const { pairs, unknown } = pairMaterials(ref.sidecar, listed);
    if (unknown.length > 0) return { applies: true, covered: false, path, problem: `escrow ${path} lacks material ${unknown[0]!.KeyMaterialId ?? '(no id)'}` };
    const payload = await escrow.open(ref);
    try {
      for (const p of pairs) {
        if (payload.materials[p.index - 1] === undefined) return { applies: true, covered: false, path, problem: `escrow ${path} has no material ${p.index}` };
      }
      await assertAnchored(kms, key.KeyId, { payload, sidecar: ref.sidecar, path }, pairs.filter((p) => p.kms.ImportState !== 'PENDING_IMPORT').map((p) => p.index));
    } finally {
      disposePayload(payload);
    }
    return { applies: true, covered: true, path };
  } catch (e) {
    if (!(e instanceof KmsByokError) || e.code.startsWith('ERR_KMS_')) throw e;
    return { applies: true, covered: false, path, problem: `${e.code}: ${e.message}` };
  }
}
