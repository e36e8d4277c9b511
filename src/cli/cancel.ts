/**
 * Cancellation: how SIGINT, SIGTERM and SIGHUP stop a command (docs/architecture.md, "Cancellation";
 * docs/reliability.md, "Signals").
 *
 * Contract:
 * - The first signal calls {@link Cancellation.request}: `stop` aborts. KMS ports opened through
 *   `cli/target.ts` or a fleet run carry a {@link KmsCallGate} from this object, so no KMS call starts
 *   after it, reads in flight are aborted, and a mutating call in flight finishes (within its deadline)
 *   so its outcome is known. Local work between KMS calls — sealing an escrow and the fsync that makes
 *   it durable — is never interrupted: nothing checks the signal there.
 * - A second SIGINT or SIGTERM aborts `abandon`: mutating calls in flight are abandoned as well, and
 *   {@link Cancellation.request} answers with what is abandoned so the caller can say it.
 * - `cutShort()` tells whether the stop cost the command work (a call was refused or aborted, a fleet
 *   key was not run): `cli/main.ts` then prints what is done and the command that finishes it, and
 *   exits 128 + the signal's number. A command that finished its work despite a signal keeps its code.
 */
import { KmsByokError, ExitCode } from '../core/errors.js';
import type { KmsCallGate } from '../kms/port.js';

export type StopSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';

/** Exit code of a command stopped by `signal` (128 + its number, as shells report it). */
export function signalExitCode(signal: StopSignal): number {
  return signal === 'SIGINT' ? ExitCode.sigint : signal === 'SIGTERM' ? ExitCode.sigterm : ExitCode.sighup;
}

export class Cancellation {
  private readonly stopping = new AbortController();
  private readonly abandoning = new AbortController();
  private signal: StopSignal | undefined;
  private short = false;
  private readonly inFlight = new Map<number, string>();
  private nextId = 1;
  private readonly completed: string[] = [];

  /** Aborted at the first signal: stop at the next safe point. */
  get stop(): AbortSignal {
    return this.stopping.signal;
  }

  /** Aborted at the second SIGINT/SIGTERM: abandon what is in flight. */
  get abandon(): AbortSignal {
    return this.abandoning.signal;
  }

  /** The first signal received, if any. */
  reason(): StopSignal | undefined {
    return this.signal;
  }

  /** Resolves at the first signal (the `emulator` command waits for it). */
  stopped(): Promise<StopSignal> {
    return new Promise((resolve) => {
      if (this.signal) resolve(this.signal);
      else this.stopping.signal.addEventListener('abort', () => resolve(this.signal!), { once: true });
    });
  }

  /**
   * A signal arrived. The first one stops; a second SIGINT or SIGTERM abandons (SIGHUP again is
   * ignored: a closing terminal may send it more than once). Returns what the caller should say.
   */
  request(signal: StopSignal): { kind: 'stop' } | { kind: 'abandon'; abandoned: string[] } | { kind: 'ignored' } {
    if (!this.signal) {
      this.signal = signal;
      this.stopping.abort(new KmsByokError('ERR_CANCELLED', `interrupted by ${signal}`));
      return { kind: 'stop' };
    }
    if (signal === 'SIGHUP' || this.abandoning.signal.aborted) return { kind: 'ignored' };
    this.short = true;
    const abandoned = [...this.inFlight.values()];
    this.abandoning.abort(new KmsByokError('ERR_CANCELLED', `abandoned by a second ${signal}`));
    return { kind: 'abandon', abandoned };
  }

  /** Marks the command as stopped before its work was done (see the module comment). */
  markCutShort(): void {
    this.short = true;
  }

  cutShort(): boolean {
    return this.short && this.signal !== undefined;
  }

  /**
   * Work that a second signal would abandon (a mutating KMS call, a fleet key); returns its `done`.
   * With `recordDone` (default), work that succeeded is listed by {@link done}.
   */
  track(description: string, recordDone = true): (succeeded: boolean) => void {
    const id = this.nextId++;
    this.inFlight.set(id, description);
    return (succeeded) => {
      this.inFlight.delete(id);
      if (succeeded && recordDone) this.completed.push(description);
    };
  }

  /** Mutating KMS calls (and fleet keys) that completed, in order. */
  done(): readonly string[] {
    return this.completed;
  }

  /** The gate of a single command's KMS ports: stops with {@link stop}. */
  gate(): KmsCallGate {
    return this.gateOf(this.stop);
  }

  /**
   * The gate of a fleet key's KMS port: keys in flight at the first signal go on for `graceMs`; then
   * (or at a second signal) their ports stop as a single command's do.
   */
  graceGate(graceMs: number): KmsCallGate {
    const grace = new AbortController();
    const expire = () => grace.abort(new KmsByokError('ERR_CANCELLED', `grace period of ${graceMs / 1000}s over`));
    const onStop = () => setTimeout(expire, graceMs).unref();
    if (this.stop.aborted) onStop();
    else this.stop.addEventListener('abort', onStop, { once: true });
    this.abandon.addEventListener('abort', expire, { once: true });
    return this.gateOf(grace.signal);
  }

  private gateOf(stop: AbortSignal): KmsCallGate {
    return {
      stop,
      abandon: this.abandon,
      begin: (description) => this.track(description),
      cancelled: (operation, how) => {
        this.short = true;
        const signal = this.signal ?? 'a signal';
        const message =
          how === 'not-started'
            ? `stopped by ${signal} before ${operation}`
            : how === 'aborted-read'
              ? `stopped by ${signal} during ${operation} (a read: nothing changed by it)`
              : `${operation} abandoned in flight by a second ${signal}: its outcome is unknown until KMS is asked`;
        return new KmsByokError('ERR_CANCELLED', message);
      },
    };
  }
}

/** A cancellation no signal ever reaches (in-process tests, library use). */
export function neverCancelled(): Cancellation {
  return new Cancellation();
}
