/**
 * The emulator's clock: a base time source plus an offset that tests and rehearsals move.
 *
 * Contract: `now()` is `base() + offset`. `advance(ms)` adds to the offset; `set(d)` chooses the offset
 * so that `now()` equals `d` at that instant (time keeps flowing with the base afterwards). The offset is
 * what the state file persists, so a rehearsal spanning several processes sees one consistent clock.
 */

/** A clock the emulator reads on every request, and tests move. */
export interface EmulatorClock {
  /** The emulator's current time. */
  now(): Date;
  /** Moves the clock forward (or back, with a negative value) by `ms` milliseconds. */
  advance(ms: number): void;
  /** Makes `now()` return `d` at this instant. */
  set(d: Date): void;
}

/** A controllable clock over `base` (real time by default). */
export class OffsetClock implements EmulatorClock {
  private offset: number;

  constructor(
    private readonly base: () => Date = () => new Date(),
    offsetMs = 0,
  ) {
    this.offset = offsetMs;
  }

  /** Current offset from the base clock, in milliseconds (persisted in the state file). */
  get offsetMs(): number {
    return this.offset;
  }

  set offsetMs(value: number) {
    if (!Number.isFinite(value)) throw new RangeError('clock offset must be a finite number');
    this.offset = value;
  }

  now(): Date {
    return new Date(this.base().getTime() + this.offset);
  }

  advance(ms: number): void {
    if (!Number.isFinite(ms)) throw new RangeError('clock advance must be a finite number of milliseconds');
    this.offset += ms;
  }

  set(d: Date): void {
    const t = d.getTime();
    if (!Number.isFinite(t)) throw new RangeError('clock set needs a valid Date');
    this.offset = t - this.base().getTime();
  }
}
