/**
 * Wrapping key pairs for GetParametersForImport.
 *
 * RSA key generation is slow (RSA-4096 takes seconds on a small machine), so each WrappingKeySpec has
 * a small pool of key pairs generated with async `crypto.generateKeyPair` (off the event loop) and
 * refilled in the background after each use. A spec's pool starts filling on first use, so an emulator
 * that never imports generates nothing.
 *
 * Seeded specs (option `wrappingKeys`, PKCS#8 PEMs) never generate: their pairs are handed out round
 * robin, so with two or more seeds two consecutive calls get different pairs. Seeds are for tests.
 *
 * A take that finds the pool empty waits for a background generation already under way (one per
 * waiting caller) rather than starting yet another, so a burst costs at most one generation per take.
 * The pool size (`target`, default 2) and warming at start are options of the emulator.
 *
 * Contract: {@link WrappingKeyPool.close} stops refilling and waits for generations in flight, so
 * nothing keeps running after the emulator closes.
 */
import { createPrivateKey, createPublicKey, generateKeyPair } from 'node:crypto';
import type { WrappingKeySpec } from './state.js';

/** One RSA wrapping key pair. */
export interface WrappingKeyPair {
  /** PKCS#8 PEM. */
  privateKeyPem: string;
  /** DER SubjectPublicKeyInfo, as GetParametersForImport returns it. */
  publicKeyDer: Buffer;
}

const BITS: Record<WrappingKeySpec, number> = { RSA_2048: 2048, RSA_3072: 3072, RSA_4096: 4096 };

function pairFromPem(spec: WrappingKeySpec, pem: string): WrappingKeyPair {
  const key = createPrivateKey({ key: pem, format: 'pem' });
  // Precondition: a seed must be an RSA key of exactly the spec's size.
  if (key.asymmetricKeyType !== 'rsa' || key.asymmetricKeyDetails?.modulusLength !== BITS[spec]) {
    throw new Error(`wrapping key seed for ${spec} is not an RSA-${BITS[spec]} private key`);
  }
  return {
    privateKeyPem: key.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicKeyDer: createPublicKey(key).export({ format: 'der', type: 'spki' }),
  };
}

function generate(spec: WrappingKeySpec): Promise<WrappingKeyPair> {
  return new Promise((resolve, reject) => {
    generateKeyPair(
      'rsa',
      {
        modulusLength: BITS[spec],
        publicExponent: 0x10001,
        publicKeyEncoding: { type: 'spki', format: 'der' },
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      },
      (err, publicKey, privateKey) => {
        if (err) reject(err);
        else resolve({ privateKeyPem: privateKey, publicKeyDer: publicKey });
      },
    );
  });
}

/** Pools of wrapping key pairs per WrappingKeySpec. */
export class WrappingKeyPool {
  private readonly seeds = new Map<WrappingKeySpec, WrappingKeyPair[]>();
  private readonly nextSeed = new Map<WrappingKeySpec, number>();
  private readonly ready = new Map<WrappingKeySpec, WrappingKeyPair[]>();
  private readonly waiting = new Map<WrappingKeySpec, ((pair: WrappingKeyPair | undefined) => void)[]>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly pending = new Map<WrappingKeySpec, number>();
  private closed = false;

  /**
   * @param seeds PKCS#8 PEMs per spec; a seeded spec never generates
   * @param target how many generated pairs each used spec keeps ready (0: generate on demand only)
   */
  constructor(
    seeds: Partial<Record<WrappingKeySpec, readonly string[]>> = {},
    private readonly target = 2,
  ) {
    if (!Number.isInteger(target) || target < 0 || target > 64) throw new Error(`wrapping key pool size must be an integer from 0 to 64, not ${target}`);
    for (const [spec, pems] of Object.entries(seeds) as [WrappingKeySpec, readonly string[]][]) {
      if (!(spec in BITS)) throw new Error(`unknown wrapping key spec ${spec}`);
      if (pems.length > 0) this.seeds.set(spec, pems.map((pem) => pairFromPem(spec, pem)));
    }
  }

  private readyOf(spec: WrappingKeySpec): WrappingKeyPair[] {
    let ready = this.ready.get(spec);
    if (!ready) {
      ready = [];
      this.ready.set(spec, ready);
    }
    return ready;
  }

  private waitersOf(spec: WrappingKeySpec): ((pair: WrappingKeyPair | undefined) => void)[] {
    let w = this.waiting.get(spec);
    if (!w) {
      w = [];
      this.waiting.set(spec, w);
    }
    return w;
  }

  /**
   * A key pair of `spec`: the next seed, a ready generated pair (at once, without waiting for any
   * generation), the next background generation to finish when one is under way for this caller, or
   * one generated now.
   */
  async take(spec: WrappingKeySpec): Promise<WrappingKeyPair> {
    if (this.closed) throw new Error('wrapping key pool is closed');
    const seeded = this.seeds.get(spec);
    if (seeded && seeded.length > 0) {
      const i = this.nextSeed.get(spec) ?? 0;
      this.nextSeed.set(spec, (i + 1) % seeded.length);
      return seeded[i]!;
    }
    const pair = this.readyOf(spec).shift();
    if (pair) {
      this.refill(spec);
      return pair;
    }
    const waiters = this.waitersOf(spec);
    if ((this.pending.get(spec) ?? 0) > waiters.length) {
      // A background generation is under way and nobody else is waiting for it: wait for it.
      const handing = new Promise<WrappingKeyPair | undefined>((resolve) => waiters.push(resolve));
      this.refill(spec); // keep `target` coming for the next callers
      const handed = await handing;
      if (handed) return handed;
      // It failed, or the pool closed: generate one now (or fail when closed).
      if (this.closed) throw new Error('wrapping key pool is closed');
    }
    const generated = this.track(generate(spec));
    this.refill(spec);
    return generated;
  }

  /** Starts filling the pool of each spec now (seeded specs excepted), so the first takes do not wait. */
  warm(specs: readonly WrappingKeySpec[]): void {
    for (const spec of specs) {
      if (!(spec in BITS)) throw new Error(`unknown wrapping key spec ${spec}`);
      if (!this.seeds.has(spec)) this.refill(spec);
    }
  }

  /** Pairs ready to hand out without waiting, per spec. */
  readyCount(spec: WrappingKeySpec): number {
    return this.seeds.get(spec)?.length ?? this.ready.get(spec)?.length ?? 0;
  }

  private track<T>(p: Promise<T>): Promise<T> {
    const settled = p.then(
      () => undefined,
      () => undefined,
    );
    this.inFlight.add(settled);
    void settled.then(() => this.inFlight.delete(settled));
    return p;
  }

  /** Starts background generations until `target` pairs are ready or under way (plus one per waiter). */
  private refill(spec: WrappingKeySpec): void {
    const ready = this.readyOf(spec);
    const waiters = this.waitersOf(spec);
    while (!this.closed && ready.length + (this.pending.get(spec) ?? 0) < this.target + waiters.length) {
      this.pending.set(spec, (this.pending.get(spec) ?? 0) + 1);
      void this.track(generate(spec))
        .then(
          (pair) => pair,
          () => undefined, // a failed background generation is retried on the next take
        )
        .then((pair) => {
          this.pending.set(spec, (this.pending.get(spec) ?? 1) - 1);
          const waiter = waiters.shift();
          if (waiter) waiter(this.closed ? undefined : pair);
          else if (pair && !this.closed) ready.push(pair);
        });
    }
  }

  /** Key generations under way (background refills and on-demand ones). */
  get generating(): number {
    return this.inFlight.size;
  }

  /** Stops refilling and waits for generations in flight. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
    // Let the hand-over callbacks of the last generations run.
    await new Promise<void>((resolve) => setImmediate(resolve));
    for (const w of this.waiting.values()) for (const resolve of w.splice(0)) resolve(undefined);
    this.ready.clear();
  }
}
