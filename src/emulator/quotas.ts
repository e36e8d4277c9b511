/**
 * Request-rate quotas, as AWS KMS applies them: per account and Region, per operation (or per shared
 * group of cryptographic operations), in requests per second. A request over quota is answered exactly
 * as KMS answers it — HTTP 400, `{"__type":"ThrottlingException","message":"Rate exceeded"}` — which the
 * AWS SDKs classify as a throttling error (by its name: `THROTTLING_ERROR_CODES` of
 * `@smithy/core/retry`) and retry with their standard retry strategy, as they do against AWS.
 *
 * Contracts:
 * - One token bucket per (account, Region, bucket). A bucket holds at most one second's worth of
 *   requests (and at least one), starts full and refills continuously at its rate, so 0.25 means one
 *   request in each 4-second interval and 5 means bursts of 5 then 5 per second.
 * - A bucket is the operation's own name when the quota table has it, else its shared group
 *   ({@link QUOTA_GROUPS}) when the table has that; otherwise the operation is not limited.
 * - `ReplicateKey` counts as one `ReplicateKey` request in the caller's Region and two `CreateKey`
 *   requests in the replica Region (AWS's rule); all or nothing.
 * - Throttled requests take no token and do nothing.
 * - Time is the process's monotonic clock (`performance.now()`), not the emulator clock that tests move.
 */
import { performance } from 'node:perf_hooks';

/** Where {@link KMS_DEFAULT_QUOTAS} come from. */
export const KMS_QUOTAS_SOURCE =
  'AWS KMS Developer Guide, "Request quotas" (https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html), default values, requests per second per account and Region';

/**
 * Shared quotas of cryptographic operations (AWS: "Cryptographic operations (symmetric) request rate"
 * and the RSA / ECC ones). The emulator classifies by operation only: Encrypt, Decrypt, GenerateDataKey,
 * GenerateMac and VerifyMac share the symmetric group; Sign and Verify share the asymmetric group (AWS
 * counts RSA and ECC keys separately, at 1,000 each).
 */
export const QUOTA_GROUPS: Readonly<Record<string, string>> = {
  Encrypt: 'CryptographicOperationsSymmetric',
  Decrypt: 'CryptographicOperationsSymmetric',
  GenerateDataKey: 'CryptographicOperationsSymmetric',
  GenerateMac: 'CryptographicOperationsSymmetric',
  VerifyMac: 'CryptographicOperationsSymmetric',
  Sign: 'CryptographicOperationsAsymmetric',
  Verify: 'CryptographicOperationsAsymmetric',
};

/**
 * AWS KMS default request quotas (requests per second, per account and Region) for the operations the
 * emulator serves, from {@link KMS_QUOTAS_SOURCE} as published in 2025–2026 (the edition that lists
 * ML-DSA keys and GetKeyLastUsage). All are adjustable in Service Quotas. The symmetric group is 10,000
 * in most Regions (20,000 or 100,000 in some); this table uses 10,000. For the values of earlier
 * editions see {@link KMS_EARLIER_DEFAULT_QUOTAS}.
 */
export const KMS_DEFAULT_QUOTAS: Readonly<Record<string, number>> = Object.freeze({
  CancelKeyDeletion: 5,
  CreateAlias: 5,
  CreateKey: 5,
  DeleteAlias: 15,
  DeleteImportedKeyMaterial: 15,
  DescribeKey: 2000,
  DisableKey: 5,
  EnableKey: 5,
  GetParametersForImport: 1,
  GetPublicKey: 2000,
  ImportKeyMaterial: 15,
  ListAliases: 500,
  ListKeyRotations: 100,
  ListKeys: 500,
  ListResourceTags: 2000,
  ReplicateKey: 5,
  RotateKeyOnDemand: 5,
  ScheduleKeyDeletion: 15,
  TagResource: 10,
  UntagResource: 5,
  UpdateAlias: 5,
  UpdateKeyDescription: 5,
  CryptographicOperationsSymmetric: 10_000,
  CryptographicOperationsAsymmetric: 1000,
});

/**
 * The defaults of earlier editions of the same page (e.g. the awsdocs/aws-kms-developer-guide GitHub
 * copy, 2023): GetParametersForImport 0.25 (one in each 4-second interval), ImportKeyMaterial 5,
 * DeleteImportedKeyMaterial 5, RSA and ECC cryptographic operations 500 and 300 (the emulator's single
 * asymmetric group uses 300). For rehearsing against an account still on them, or for pessimism.
 */
export const KMS_EARLIER_DEFAULT_QUOTAS: Readonly<Record<string, number>> = Object.freeze({
  ...KMS_DEFAULT_QUOTAS,
  GetParametersForImport: 0.25,
  ImportKeyMaterial: 5,
  DeleteImportedKeyMaterial: 5,
  CryptographicOperationsAsymmetric: 300,
});

/** Quotas to apply: requests per second by operation name or {@link QUOTA_GROUPS} group name. */
export type QuotaTable = Readonly<Record<string, number>>;

/** One token bucket. */
interface Bucket {
  tokens: number;
  at: number;
}

/** Validates a quota table against the known operation and group names; returns a scaled copy. */
export function resolveQuotas(table: QuotaTable | 'default', scale: number, known: ReadonlySet<string>): Record<string, number> {
  if (!Number.isFinite(scale) || scale <= 0) throw new Error(`emulator: quota scale must be a positive number, not ${scale}`);
  const source = table === 'default' ? KMS_DEFAULT_QUOTAS : table;
  const out: Record<string, number> = {};
  for (const [name, rate] of Object.entries(source)) {
    if (!known.has(name) && !Object.values(QUOTA_GROUPS).includes(name)) throw new Error(`emulator: no quota can apply to unknown operation ${name}`);
    if (typeof rate !== 'number' || !Number.isFinite(rate) || rate <= 0) throw new Error(`emulator: the quota of ${name} must be a positive number of requests per second`);
    out[name] = rate * scale;
  }
  return out;
}

/** Token buckets per (account, Region, operation or group). */
export class QuotaLimiter {
  private readonly buckets = new Map<string, Bucket>();

  /**
   * @param rates requests per second by bucket name (already scaled, see {@link resolveQuotas})
   * @param now monotonic milliseconds
   */
  constructor(
    private readonly rates: Readonly<Record<string, number>>,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The bucket name `operation` draws from, or undefined when it is not limited. */
  bucketOf(operation: string): string | undefined {
    if (Object.hasOwn(this.rates, operation)) return operation;
    const group = Object.hasOwn(QUOTA_GROUPS, operation) ? QUOTA_GROUPS[operation] : undefined;
    return group !== undefined && Object.hasOwn(this.rates, group) ? group : undefined;
  }

  private level(key: string, rate: number, t: number): Bucket {
    const capacity = Math.max(1, rate);
    let b = this.buckets.get(key);
    if (!b) {
      b = { tokens: capacity, at: t };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(capacity, b.tokens + ((t - b.at) / 1000) * rate);
    b.at = t;
    return b;
  }

  /**
   * Takes the tokens a request needs; false (and nothing taken) when any bucket lacks them.
   * @param replicaRegion for ReplicateKey: the Region whose CreateKey quota it also uses
   */
  admit(accountId: string, region: string, operation: string, replicaRegion?: string): boolean {
    const needs: [string, number, number][] = [];
    const own = this.bucketOf(operation);
    if (own !== undefined) needs.push([`${accountId}/${region}/${own}`, this.rates[own]!, 1]);
    if (operation === 'ReplicateKey' && replicaRegion !== undefined) {
      const create = this.bucketOf('CreateKey');
      if (create !== undefined) needs.push([`${accountId}/${replicaRegion}/${create}`, this.rates[create]!, 2]);
    }
    const t = this.now();
    // A capacity below the need (a 1-token bucket asked for 2) is still satisfiable once full.
    const buckets = needs.map(([key, rate, n]) => [this.level(key, rate, t), Math.min(n, Math.max(1, rate))] as const);
    if (buckets.some(([b, n]) => b.tokens < n - 1e-9)) return false;
    for (const [b, n] of buckets) b.tokens -= n;
    return true;
  }
}
