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
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly pending = new Map<WrappingKeySpec, number>();
  private closed = false;

  /**
   * @param seeds PKCS#8 PEMs per spec; a seeded spec never generates
   * @param target how many generated pairs each used spec keeps ready
   */
  constructor(
    seeds: Partial<Record<WrappingKeySpec, readonly string[]>> = {},
    private readonly target = 2,
  ) {
    for (const [spec, pems] of Object.entries(seeds) as [WrappingKeySpec, readonly string[]][]) {
      if (!(spec in BITS)) throw new Error(`unknown wrapping key spec ${spec}`);
      if (pems.length > 0) this.seeds.set(spec, pems.map((pem) => pairFromPem(spec, pem)));
    }
  }

  /** A key pair of `spec`: the next seed, a ready generated pair, or one generated now. */
  async take(spec: WrappingKeySpec): Promise<WrappingKeyPair> {
    if (this.closed) throw new Error('wrapping key pool is closed');
    const seeded = this.seeds.get(spec);
    if (seeded && seeded.length > 0) {
      const i = this.nextSeed.get(spec) ?? 0;
      this.nextSeed.set(spec, (i + 1) % seeded.length);
      return seeded[i]!;
    }
    const ready = this.ready.get(spec) ?? [];
    this.ready.set(spec, ready);
    const pair = ready.shift();
    if (pair) {
      this.refill(spec);
      return pair;
    }
    const generated = this.track(generate(spec));
    this.refill(spec);
    return generated;
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

  /** Starts background generations until `target` pairs are ready or under way. */
  private refill(spec: WrappingKeySpec): void {
    const ready = this.ready.get(spec) ?? [];
    this.ready.set(spec, ready);
    while (!this.closed && ready.length + (this.pending.get(spec) ?? 0) < this.target) {
      this.pending.set(spec, (this.pending.get(spec) ?? 0) + 1);
      void this.track(generate(spec))
        .then(
          (pair) => {
            if (!this.closed) ready.push(pair);
          },
          () => undefined, // a failed background generation is retried on the next take
        )
        .finally(() => this.pending.set(spec, (this.pending.get(spec) ?? 1) - 1));
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
    this.ready.clear();
  }
}
