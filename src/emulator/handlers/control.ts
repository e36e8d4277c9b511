/**
 * The emulator's own control operations (X-Amz-Target `KmsByokEmulator.<Operation>`), for rehearsals
 * that span several processes and need to move the clock.
 *
 * Contracts:
 * - AdvanceClock `{"Seconds": n}` moves the emulator clock by n seconds (may be fractional or negative)
 *   and returns `{"Now": <epoch seconds>}`; the offset is persisted with the state.
 * - GetClock returns `{"Now": <epoch seconds>}`.
 */
import { seconds, type Handler } from '../context.js';
import { validationError } from '../errors.js';

export const advanceClock: Handler = (ctx, input) => {
  const s = input.Seconds;
  if (typeof s !== 'number' || !Number.isFinite(s)) throw validationError('Seconds', s, 'Member must be a finite number of seconds');
  ctx.clock.advance(s * 1000);
  ctx.state.clockOffsetMs = ctx.clock.offsetMs;
  return { Now: seconds(ctx.clock.now().getTime()) };
};

export const getClock: Handler = (ctx) => ({ Now: seconds(ctx.clock.now().getTime()) });
