/**
 * What every operation handler receives: the state, the caller's Region (from the request signature),
 * the account, the clock, the wrapping key pool and the injected faults.
 *
 * Contract: a handler is a function of `(ctx, input)` that either returns the JSON response body of the
 * operation (bytes already base64, times already epoch seconds) or throws a `KmsException`. Handlers
 * mutate `ctx.state` synchronously; the server persists the state after the handler returns.
 */
import type { OffsetClock } from './clock.js';
import type { FaultRegistry } from './faults.js';
import type { Input } from './input.js';
import type { EmulatorState, SessionRecord } from './state.js';
import type { UnwrapEngine } from './unwrap.js';
import type { WrappingKeyPool } from './wrapping-pool.js';

export interface HandlerContext {
  state: EmulatorState;
  /** Region the request was signed for (or the emulator's default Region). */
  region: string;
  /**
   * The account the request acts in: the role's account for credentials AssumeRole issued (see
   * `sessions` in state.ts), else the emulator's own account. Keys, aliases, quotas and ARNs are this
   * account's.
   */
  accountId: string;
  /** The emulator's own account (whose Regions are `state.regions`). */
  homeAccountId: string;
  /** The role session the request was signed with, when its access key id is one AssumeRole issued. */
  session?: SessionRecord;
  clock: OffsetClock;
  pool: WrappingKeyPool;
  /** Injected faults (for the control operations). */
  faults: FaultRegistry;
  /** How ImportKeyMaterial decrypts the RSA part of wrapped material. */
  unwrapEngine: UnwrapEngine;
  /** The id this request's answer carries in `x-amzn-RequestId` (absent outside the HTTP server). */
  requestId?: string;
  /** The access key id the request was signed with, if it was signed. */
  caller?: string;
  /**
   * Tells the sweep (lifecycle.ts, Sweeper) of a deadline this request added. Handlers of the
   * operations the Sweeper lists as deadline-reporting must call it for each one.
   */
  due?: (atMs: number) => void;
}

/** One operation: request body in, response body out. */
export type Handler = (ctx: HandlerContext, input: Input) => Record<string, unknown> | Promise<Record<string, unknown>>;

/** Epoch milliseconds as the epoch seconds AWS JSON carries. */
export function seconds(ms: number): number {
  return ms / 1000;
}
