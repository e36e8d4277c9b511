/**
 * Programmable faults and injected latency, for reliability tests and failure drills.
 *
 * Fault kinds (what the client sees):
 * - `throttle`: HTTP 400 `ThrottlingException` "Rate exceeded", exactly as an over-quota request. Nothing happens.
 * - `internal`: HTTP 500 `KMSInternalException`, as KMS answers an internal failure. Nothing happens.
 * - `http500`: a bare HTTP 500 with an empty body, no KMS error document (as from a failing front end):
 *   the SDK sees only the status (name `Unknown`, `$fault: 'server'`, retried as a 500). Nothing happens.
 * - `latency`: waits `delayMs` (default 60 s) before doing the operation and answering, to exceed a
 *   client timeout. The operation is done after the wait even when the client has given up.
 * - `drop-before`: destroys the connection without doing the operation (the operation did NOT happen).
 * - `drop-after`: does the operation (state changes and is saved), then destroys the connection
 *   without answering: the client cannot know whether it happened.
 * - `drip`: does the operation, then sends its answer one byte every `delayMs` (default 1 s): an endpoint
 *   that is never idle long enough for an idle-socket timeout, yet never finishes answering. The
 *   connection is dropped when the client goes away or the emulator closes.
 * - `loop-marker`: for a paged `List*` operation (`ListKeys`, `ListAliases`, `ListKeyRotations`), does the
 *   operation and answers its first page with `Truncated: true` and the same `NextMarker` on every
 *   request, forever: a client that trusts the marker never stops paging. On other operations: no effect.
 *
 * Contracts:
 * - A fault matches requests of its `operation` (a KMS operation name, or `*` for every KMS operation;
 *   never the `KmsByokEmulator.*` controls), in its `region` when given. Each matching request is counted
 *   (`seen`); the fault fires on matching request number `nth` (default 1) and the following ones until
 *   it has fired `times` times (default 1; unlimited when only `probability` is given), each time with
 *   `probability` (default 1). The first fault that fires for a request is the only one applied.
 * - Faults are counted after the quota check: a request throttled by the quota never reaches them.
 */

/** What a fault does; see the module comment. */
export type FaultKind = 'throttle' | 'http500' | 'internal' | 'latency' | 'drop-before' | 'drop-after' | 'drip' | 'loop-marker';

export const FAULT_KINDS: readonly FaultKind[] = ['throttle', 'http500', 'internal', 'latency', 'drop-before', 'drop-after', 'drip', 'loop-marker'];

/** The marker a `loop-marker` fault answers with, every time. */
export const LOOP_MARKER = 'kms-byok-emulator-loop-marker';

/** A fault to inject. */
export interface FaultSpec {
  /** KMS operation name (e.g. `ImportKeyMaterial`), or `*` for every KMS operation. */
  operation: string;
  kind: FaultKind;
  /** Fire first on the nth matching request (1-based, counted from when the fault is added); default 1. */
  nth?: number;
  /** How many times to fire; default 1, or unlimited (Infinity) when `probability` is given. */
  times?: number;
  /** Chance (0..1) that an eligible request gets the fault; default 1. */
  probability?: number;
  /** Only requests for this Region. */
  region?: string;
  /** For `latency`: the wait in ms (default 60000); for `drip`: the pause between bytes (default 1000). */
  delayMs?: number;
}

/** A fault added to the emulator, with its counters. */
export interface InjectedFault extends Readonly<Required<Omit<FaultSpec, 'region'>>> {
  readonly id: number;
  readonly region?: string;
  /** Matching requests so far. */
  readonly seen: number;
  /** Times fired so far. */
  readonly fired: number;
}

/** The faults of a running emulator (`emu.faults`). */
export interface FaultController {
  /** Adds a fault; returns it (with its id). @throws Error on an invalid spec */
  add(spec: FaultSpec): InjectedFault;
  /** Removes one fault; false when there was none with that id. */
  remove(id: number): boolean;
  /** Removes every fault; returns how many there were. */
  clear(): number;
  /** The faults, in the order added, with their counters (snapshots). */
  list(): InjectedFault[];
}

const DEFAULT_DELAY_MS = 60_000;
const DEFAULT_DRIP_MS = 1_000;

/** Fault registry; `random` is the source of probabilities. */
export class FaultRegistry implements FaultController {
  private readonly faults: (InjectedFault & { seen: number; fired: number })[] = [];
  private nextId = 1;

  constructor(
    private readonly operations: ReadonlySet<string>,
    private readonly random: () => number = Math.random,
  ) {}

  add(spec: FaultSpec): InjectedFault {
    const f = this.validate(spec);
    this.faults.push(f);
    return { ...f };
  }

  private validate(spec: FaultSpec): InjectedFault & { seen: number; fired: number } {
    if (typeof spec !== 'object' || spec === null) throw new Error('fault: a fault is an object { operation, kind, … }');
    const { operation, kind } = spec;
    if (typeof operation !== 'string' || (operation !== '*' && !this.operations.has(operation))) {
      throw new Error(`fault: unknown KMS operation ${String(operation)} (use an operation name such as ImportKeyMaterial, or *)`);
    }
    if (!FAULT_KINDS.includes(kind)) throw new Error(`fault: unknown kind ${String(kind)} (one of ${FAULT_KINDS.join(', ')})`);
    const nth = spec.nth ?? 1;
    if (!Number.isInteger(nth) || nth < 1) throw new Error(`fault: nth must be an integer ≥ 1, not ${nth}`);
    const probability = spec.probability ?? 1;
    if (typeof probability !== 'number' || !(probability >= 0 && probability <= 1)) throw new Error(`fault: probability must be within 0..1, not ${probability}`);
    const times = spec.times ?? (spec.probability === undefined ? 1 : Infinity);
    if (!(times === Infinity || (Number.isInteger(times) && times >= 1))) throw new Error(`fault: times must be an integer ≥ 1 (or Infinity), not ${times}`);
    const delayMs = spec.delayMs ?? (kind === 'drip' ? DEFAULT_DRIP_MS : DEFAULT_DELAY_MS);
    if (!Number.isFinite(delayMs) || delayMs < 0) throw new Error(`fault: delayMs must be a number of ms ≥ 0, not ${delayMs}`);
    if (spec.region !== undefined && typeof spec.region !== 'string') throw new Error('fault: region must be a string');
    return {
      id: this.nextId++,
      operation,
      kind,
      nth,
      times,
      probability,
      delayMs,
      ...(spec.region !== undefined ? { region: spec.region } : {}),
      seen: 0,
      fired: 0,
    };
  }

  remove(id: number): boolean {
    const i = this.faults.findIndex((f) => f.id === id);
    if (i < 0) return false;
    this.faults.splice(i, 1);
    return true;
  }

  clear(): number {
    const n = this.faults.length;
    this.faults.length = 0;
    return n;
  }

  list(): InjectedFault[] {
    return this.faults.map((f) => ({ ...f }));
  }

  /** Counts the request against every matching fault; the fault to apply, if one fires. */
  select(operation: string, region: string): InjectedFault | undefined {
    let chosen: InjectedFault | undefined;
    for (const f of this.faults) {
      if (f.operation !== '*' && f.operation !== operation) continue;
      if (f.region !== undefined && f.region !== region) continue;
      f.seen += 1;
      if (chosen || f.seen < f.nth || f.fired >= f.times) continue;
      if (f.probability < 1 && this.random() >= f.probability) continue;
      f.fired += 1;
      chosen = { ...f };
    }
    return chosen;
  }
}

/** Latency to add before answering each KMS operation: ms, or a [min, max] range, by operation or `default`. */
export type LatencyOptions = Readonly<Record<string, number | readonly [number, number]>>;

/** Validates latency options; returns a sampler of the latency of one request (ms). */
export function latencySampler(options: LatencyOptions, operations: ReadonlySet<string>, random: () => number = Math.random): (operation: string) => number {
  const table = new Map<string, readonly [number, number]>();
  for (const [name, v] of Object.entries(options)) {
    if (name !== 'default' && !operations.has(name)) throw new Error(`emulator: latency for unknown operation ${name}`);
    const range: readonly [number, number] = typeof v === 'number' ? [v, v] : v;
    const [min, max] = range;
    if (!Array.isArray(range) || range.length !== 2 || !Number.isFinite(min) || !Number.isFinite(max) || min < 0 || max < min) {
      throw new Error(`emulator: latency of ${name} must be ms ≥ 0 or a [min, max] range`);
    }
    table.set(name, [min, max]);
  }
  return (operation) => {
    const r = table.get(operation) ?? table.get('default');
    if (!r) return 0;
    return r[0] + (r[1] - r[0]) * random();
  };
}

/**
 * Parses `--fault OPERATION:KIND[:TIMES][:DELAY]` of `kms-byok emulator`: TIMES is a count or `always`;
 * DELAY (for `latency`) is e.g. `5000ms` or `30s`. @throws Error naming what is wrong
 */
export function parseFaultFlag(text: string): FaultSpec {
  const parts = text.split(':');
  if (parts.length < 2 || parts.length > 4) throw new Error(`--fault "${text}": expected OPERATION:KIND[:TIMES][:DELAY], e.g. ImportKeyMaterial:drop-after:1`);
  const [operation, kind, times, delay] = parts as [string, string, string | undefined, string | undefined];
  if (!FAULT_KINDS.includes(kind as FaultKind)) throw new Error(`--fault "${text}": unknown kind ${kind} (one of ${FAULT_KINDS.join(', ')})`);
  const spec: FaultSpec = { operation, kind: kind as FaultKind };
  if (times !== undefined && times !== '') {
    if (times === 'always') spec.times = Infinity;
    else if (/^[1-9]\d{0,8}$/.test(times)) spec.times = Number(times);
    else throw new Error(`--fault "${text}": TIMES must be a count ≥ 1 or "always", not ${times}`);
  }
  if (delay !== undefined) {
    if (kind !== 'latency' && kind !== 'drip') throw new Error(`--fault "${text}": a DELAY applies only to the latency and drip kinds`);
    spec.delayMs = parseDuration(delay, `--fault "${text}"`);
  }
  return spec;
}

function parseDuration(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)$/.exec(text);
  if (!m) throw new Error(`${what}: "${text}" is not a duration like 250ms or 30s`);
  return Number(m[1]) * (m[2] === 's' ? 1000 : 1);
}

/** Parses `--latency MIN-MAXms` (or `Nms`, `N-Ms`…) of `kms-byok emulator` into `{ default: [min, max] }`. */
export function parseLatencyFlag(text: string): LatencyOptions {
  const m = /^(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?(ms|s)$/.exec(text);
  if (!m) throw new Error(`--latency "${text}": expected MIN-MAXms or Nms, e.g. 20-60ms`);
  const unit = m[3] === 's' ? 1000 : 1;
  const min = Number(m[1]) * unit;
  const max = m[2] === undefined ? min : Number(m[2]) * unit;
  if (max < min) throw new Error(`--latency "${text}": MAX is below MIN`);
  return { default: [min, max] };
}

/** Parses `--quota default|SCALE` of `kms-byok emulator`: AWS's default quotas times SCALE (default 1). */
export function parseQuotaFlag(text: string): { quotas: 'default'; quotaScale: number } {
  if (text === 'default') return { quotas: 'default', quotaScale: 1 };
  if (/^\d+(?:\.\d+)?$/.test(text) && Number(text) > 0) return { quotas: 'default', quotaScale: Number(text) };
  throw new Error(`--quota "${text}": expected "default" (AWS's request quotas) or a positive scale, e.g. 80 for 80× AWS's`);
}
