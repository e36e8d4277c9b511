/**
 * The emulator's own control operations (X-Amz-Target `KmsByokEmulator.<Operation>`), for rehearsals
 * that span several processes and need to move the clock.
 *
 * Contracts:
 * - AdvanceClock `{"Seconds": n}` moves the emulator clock by n seconds (may be fractional or negative)
 *   and returns `{"Now": <epoch seconds>}`; the offset is persisted with the state.
 * - GetClock returns `{"Now": <epoch seconds>}`.
 * - InjectFault, ClearFaults, ListFaults program the faults of faults.ts from another process (the
 *   same registry as `emu.faults`).
 */
import { seconds, type Handler } from '../context.js';
import { fail, validationError } from '../errors.js';
import type { FaultKind, FaultSpec, InjectedFault } from '../faults.js';
import { declareAccount, declareRole, directoryOf } from '../directory.js';

export const advanceClock: Handler = (ctx, input) => {
  const s = input.Seconds;
  if (typeof s !== 'number' || !Number.isFinite(s)) throw validationError('Seconds', s, 'Member must be a finite number of seconds');
  ctx.clock.advance(s * 1000);
  ctx.state.clockOffsetMs = ctx.clock.offsetMs;
  return { Now: seconds(ctx.clock.now().getTime()) };
};

export const getClock: Handler = (ctx) => ({ Now: seconds(ctx.clock.now().getTime()) });

function optionalNumber(input: Record<string, unknown>, field: string): number | undefined {
  const v = input[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw validationError(field, v, 'Member must be a finite number');
  return v;
}

function faultJson(f: InjectedFault): Record<string, unknown> {
  return {
    FaultId: f.id,
    Operation: f.operation,
    Kind: f.kind,
    Nth: f.nth,
    // JSON has no Infinity: an unlimited fault has no Times.
    ...(Number.isFinite(f.times) ? { Times: f.times } : {}),
    Probability: f.probability,
    DelayMs: f.delayMs,
    ...(f.region !== undefined ? { Region: f.region } : {}),
    Seen: f.seen,
    Fired: f.fired,
  };
}

/**
 * InjectFault `{"Operation": "ImportKeyMaterial", "Kind": "drop-after", "Nth"?, "Times"?, "Probability"?,
 * "Region"?, "DelayMs"?}` adds a fault (see faults.ts; without Times and with Probability it is unlimited)
 * and returns it with its `FaultId`. An invalid fault is a ValidationException.
 */
export const injectFault: Handler = (ctx, input) => {
  const spec: FaultSpec = { operation: String(input.Operation ?? ''), kind: String(input.Kind ?? '') as FaultKind };
  const nth = optionalNumber(input, 'Nth');
  const times = optionalNumber(input, 'Times');
  const probability = optionalNumber(input, 'Probability');
  const delayMs = optionalNumber(input, 'DelayMs');
  if (nth !== undefined) spec.nth = nth;
  if (times !== undefined) spec.times = times;
  if (probability !== undefined) spec.probability = probability;
  if (delayMs !== undefined) spec.delayMs = delayMs;
  if (input.Region !== undefined) spec.region = String(input.Region);
  try {
    return faultJson(ctx.faults.add(spec));
  } catch (e) {
    throw fail('ValidationException', (e as Error).message);
  }
};

/** ClearFaults `{}` removes every fault and returns `{"Cleared": n}`. */
export const clearFaults: Handler = (ctx) => ({ Cleared: ctx.faults.clear() });

/** ListFaults `{}` returns `{"Faults": [...]}` with each fault's `Seen` and `Fired` counters. */
export const listFaults: Handler = (ctx) => ({ Faults: ctx.faults.list().map(faultJson) });

/**
 * DeclareAccount `{"AccountId": "222222222222"}` adds an account to the organisation (directory.ts);
 * DeclareRole `{"RoleArn": "arn:aws:iam::222222222222:role/KmsByok", "ExternalId"?: "…"}` lets
 * AssumeRole assume that role (and declares its account). Both return the directory
 * `{"ManagementAccount", "Accounts", "Roles": [{"RoleArn", "HasExternalId"}]}`; malformed input is a
 * ValidationException.
 */
export const declareAccountOp: Handler = (ctx, input) => {
  try {
    declareAccount(ctx.state, ctx.homeAccountId, String(input.AccountId ?? ''));
  } catch (e) {
    throw fail('ValidationException', (e as Error).message);
  }
  return directoryJson(ctx);
};

export const declareRoleOp: Handler = (ctx, input) => {
  try {
    declareRole(ctx.state, ctx.homeAccountId, String(input.RoleArn ?? ''), input.ExternalId === undefined ? undefined : String(input.ExternalId));
  } catch (e) {
    throw fail('ValidationException', (e as Error).message);
  }
  return directoryJson(ctx);
};

function directoryJson(ctx: Parameters<Handler>[0]): Record<string, unknown> {
  const dir = directoryOf(ctx.state, ctx.homeAccountId);
  return { ManagementAccount: dir.managementAccount, Accounts: dir.accounts, Roles: dir.roles.map((r) => ({ RoleArn: r.roleArn, HasExternalId: r.externalId !== undefined })) };
}
