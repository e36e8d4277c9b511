import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/**
 * Secret bytes (key material, payload keys, passphrases). Holds its own copy, lends it out with
 * {@link SecretBytes.use}, and zeroes it on {@link SecretBytes.dispose}. Every way of printing it
 * (`String()`, `JSON.stringify`, `util.inspect`, template literals) yields "[redacted]".
 */
export class SecretBytes {
  #bytes: Uint8Array;
  #disposed = false;

  private constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  /** Takes ownership of `bytes` (no copy): the caller must not keep or reuse the array. */
  static adopt(bytes: Uint8Array): SecretBytes {
    return new SecretBytes(bytes);
  }

  /** Copies `bytes` and zeroes the source, so the secret lives in exactly one place. */
  static take(bytes: Uint8Array): SecretBytes {
    const copy = Uint8Array.from(bytes);
    bytes.fill(0);
    return new SecretBytes(copy);
  }

  /** Copies `bytes`, leaving the source alone (for sources the caller zeroes or does not own). */
  static copyOf(bytes: Uint8Array): SecretBytes {
    return new SecretBytes(Uint8Array.from(bytes));
  }

  get length(): number {
    this.#assertLive();
    return this.#bytes.length;
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /** Lends the bytes to `fn`. `fn` must not keep a reference beyond its return (or its promise). */
  use<T>(fn: (bytes: Uint8Array) => T): T {
    this.#assertLive();
    return fn(this.#bytes);
  }

  /** A new, independent SecretBytes with the same content. */
  clone(): SecretBytes {
    this.#assertLive();
    return new SecretBytes(Uint8Array.from(this.#bytes));
  }

  /** Constant-time comparison with another secret of the same length. */
  equals(other: SecretBytes): boolean {
    return this.use((a) =>
      other.use((b) => {
        if (a.length !== b.length) return false;
        let diff = 0;
        for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
        return diff === 0;
      }),
    );
  }

  /** Zeroes the bytes. Idempotent. */
  dispose(): void {
    this.#bytes.fill(0);
    this.#disposed = true;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `SecretBytes(${REDACTED})`;
  }

  #assertLive(): void {
    if (this.#disposed) throw new Error('SecretBytes used after dispose');
  }
}

/** Zeroes every given buffer; for plaintext copies that leave a SecretBytes briefly (SDK inputs). */
export function zero(...buffers: (Uint8Array | undefined)[]): void {
  for (const b of buffers) b?.fill(0);
}
