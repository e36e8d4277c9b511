/**
 * The KMS port over `@aws-sdk/client-kms`. The only module that imports the SDK. It honours the AWS
 * default credential chain, `profile`, `region` and `endpoint` (AWS_ENDPOINT_URL_KMS is read by the
 * CLI and passed in as `endpoint`), validates every response, copies plaintext out of SDK buffers and
 * turns every SDK error into a KmsByokError.
 *
 * Bounded waits (docs/reliability.md): every attempt of every call has a whole-request deadline
 * (`requestTimeoutMs`, default 60 s) from sending the request to the last byte of the answer, besides
 * the SDK's idle-socket timeout — an endpoint that answers one byte a second cannot hold a call open. A
 * call therefore ends within `maxAttempts` × deadline + the SDK's backoff. Paged List* calls stop with
 * ERR_KMS_BAD_RESPONSE on a repeated `NextMarker` or past {@link MAX_PAGES} pages. With a `gate`, a stop
 * request refuses new calls and aborts reads in flight (see {@link KmsCallGate}).
 */
import {
  KMSClient,
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteImportedKeyMaterialCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateMacCommand,
  GetParametersForImportCommand,
  GetKeyPolicyCommand,
  GetKeyLastUsageCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  ScheduleKeyDeletionCommand,
  CancelKeyDeletionCommand,
  GetPublicKeyCommand,
  ImportKeyMaterialCommand,
  ListAliasesCommand,
  ListKeyRotationsCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  ReplicateKeyCommand,
  RotateKeyOnDemandCommand,
  SignCommand,
  TagResourceCommand,
  UpdateAliasCommand,
  type KMSClientConfig,
} from '@aws-sdk/client-kms';
import { MUTATING_OPERATIONS, type KeyLastUsage, type AliasInfo, type CreateKeyInput, type ImportKeyMaterialInput, type ImportParameters, type KeyInfo, type KeyMaterialInfo, type KmsCallGate, type KmsPort, type Tag } from './port.js';
import { fromSdkError } from './errors.js';
import { MAX_LIST_PAGES, badResponse, nextMarker, requireBytes, requireDate, requireString, toKeyInfo, toKeyMaterialInfo, toTag } from './validate.js';

export interface AwsKmsOptions {
  region?: string;
  profile?: string;
  endpoint?: string;
  /**
   * Static credentials (the emulator's dummy pair) or a provider of them (a role's, shared by every
   * Region it serves: cli/roles.ts); otherwise the default credential chain.
   */
  credentials?:
    | { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
    | (() => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string; expiration?: Date }>);
  /** SDK attempts per call, including the first (default 3, the SDK's standard retry mode). */
  maxAttempts?: number;
  /**
   * Milliseconds to wait for a TCP connection (default 5 s) / for each attempt's whole answer (default
   * 60 s: the idle-socket timeout AND the attempt's overall deadline).
   */
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Stop requests (signals): see {@link KmsCallGate}. Without one, calls are never cancelled. */
  gate?: KmsCallGate;
  /** Called after every successful call with the KMS request id, for transcripts. */
  onRequest?: (operation: string, requestId: string | undefined) => void;
}

/** Any KMS command; typed loosely here because `send` is generic over each command's own types. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Sendable = any;

/** Mutating calls whose automatic resend after a lost answer is not harmless (see `send`). */
const SENT_ONCE: ReadonlySet<string> = new Set(['CreateKey', 'CreateAlias', 'ImportKeyMaterial', 'RotateKeyOnDemand', 'ReplicateKey', 'DeleteImportedKeyMaterial']);

/** Pages a List* call may take before kms-byok stops trusting `NextMarker` (1,000 pages of up to 100-1,000 entries). */
export const MAX_PAGES = 1_000;

/** The SDK's request handler, as far as the deadline wrapper needs it. */
interface Handler {
  handle(request: unknown, options?: { abortSignal?: AbortSignal; requestTimeout?: number }): Promise<{ response: { body?: unknown } }>;
  [other: string]: unknown;
}

/**
 * Wraps the SDK's HTTP handler so that each attempt (the SDK retries through it) ends within
 * `deadlineMs` from sending to the last byte of the body: the deadline is an AbortSignal the Node
 * handler honours until the request closes, i.e. while the body streams too. A deadline that fires is
 * reported as the SDK's own `TimeoutError` (retried, then ERR_KMS_UNREACHABLE); the caller's abort
 * (a stop request) stays an abort.
 */
function withDeadline(inner: Handler, deadlineMs: number, gateSignal?: (operation: string) => AbortSignal | undefined): Handler {
  const wrapper = Object.create(inner) as Handler;
  wrapper.handle = async (request, given = {}) => {
    // A call sent without options (the SDK's cached handler: see createAwsKms) gets its stop signal here.
    const target = gateSignal && !given.abortSignal ? targetOf(request) : undefined;
    const gateAbort = target === undefined ? undefined : gateSignal!(target.slice(target.lastIndexOf('.') + 1));
    const options = gateAbort ? { ...given, abortSignal: gateAbort } : given;
    // One controller per attempt, aborted by the deadline or by the caller's signal: cheaper per
    // call than AbortSignal.timeout + AbortSignal.any (docs/fleet.md, "CPU per key"). Both stay
    // armed until the answer's body has closed (the handler returns at its headers), then the
    // timer and the listener on the caller's long-lived signal are removed.
    const attempt = new AbortController();
    const outer = options.abortSignal;
    let timedOut = false;
    const disarm = () => {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuterAbort);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      attempt.abort();
      disarm();
    }, deadlineMs);
    timer.unref?.();
    const onOuterAbort = () => attempt.abort(outer?.reason);
    if (outer?.aborted) onOuterAbort();
    else outer?.addEventListener('abort', onOuterAbort, { once: true });
    try {
      const out = await inner.handle(request, { ...options, abortSignal: attempt.signal });
      const body = out.response.body as { once?: (event: string, listener: () => void) => unknown; destroyed?: boolean } | undefined;
      if (body && typeof body.once === 'function' && !body.destroyed) body.once('close', disarm);
      else disarm();
      return out;
    } catch (e) {
      disarm();
      if (timedOut && !outer?.aborted) {
        throw Object.assign(new Error(`no complete answer within ${deadlineMs / 1000}s`), { name: 'TimeoutError', code: 'ETIMEDOUT', $metadata: {} });
      }
      throw e;
    }
  };
  return wrapper;
}

/** The `X-Amz-Target` of an SDK HTTP request (`TrentService.<Operation>`), if any. */
function targetOf(request: unknown): string | undefined {
  const headers = (request as { headers?: Record<string, string> }).headers;
  return headers?.['x-amz-target'] ?? headers?.['X-Amz-Target'];
}

/** Creates a KmsPort that talks to AWS KMS (or anything speaking its protocol at `endpoint`). */
export async function createAwsKms(options: AwsKmsOptions): Promise<KmsPort> {
  const config: KMSClientConfig = {
    maxAttempts: options.maxAttempts ?? 3,
    // The SDK resolves (copies and sorts) its middleware stack for every call unless a call is sent
    // without options; `send` does that where no SDK retry could wait (docs/fleet.md, "CPU per key").
    cacheMiddleware: true,
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? 5_000,
      requestTimeout: options.requestTimeoutMs ?? 60_000,
      // Without this the handler only logs a warning and keeps waiting: a KMS that never answers
      // would hang the CLI. With it, the SDK gives up (TimeoutError → ERR_KMS_UNREACHABLE).
      throwOnRequestTimeout: true,
    },
  };
  if (options.region) config.region = options.region;
  if (options.profile) config.profile = options.profile;
  if (options.endpoint) config.endpoint = options.endpoint;
  if (options.credentials) config.credentials = options.credentials;
  const client = new KMSClient(config);
  // Calls KMS does not carry out idempotently are sent once by the SDK: its automatic retry after a
  // lost answer would create a second key, or turn a done import into a misleading error. The port
  // retries them only on throttling (a definite "not done"); every other failure goes to the
  // ceremony, which asks KMS what happened (docs/architecture.md, "Unknown outcomes").
  const onceClient = new KMSClient({ ...config, maxAttempts: 1 });
  const attempts = options.maxAttempts ?? 3;
  const gateSignal = options.gate ? (operation: string) => (MUTATING_OPERATIONS.has(operation) ? options.gate!.abandon : options.gate!.stop) : undefined;
  // The SDK reads `config.requestHandler` on every send; the wrapper adds the per-attempt deadline
  // and, for calls sent without options, the gate's signal.
  for (const c of [client, onceClient]) {
    const sdkConfig = c.config as unknown as { requestHandler: Handler };
    sdkConfig.requestHandler = withDeadline(sdkConfig.requestHandler, options.requestTimeoutMs ?? 60_000, gateSignal);
  }
  const target = options.endpoint ?? `AWS KMS${options.region ? ` in ${options.region}` : ''}`;
  let region: string;
  try {
    region = await client.config.region();
  } catch (e) {
    throw fromSdkError(e, 'configuration', target);
  }

  const gate = options.gate;

  /** Sends one call through the gate (see {@link KmsCallGate}); `keyId` names it for a hard stop. */
  async function send<T>(operation: string, command: Sendable, keyId?: string): Promise<T> {
    const once = SENT_ONCE.has(operation);
    for (let attempt = 1; ; attempt++) {
      if (gate?.stop.aborted) throw gate.cancelled(operation, 'not-started');
      const mutating = MUTATING_OPERATIONS.has(operation);
      const abortSignal = gate ? (mutating ? gate.abandon : gate.stop) : undefined;
      const settle = gate && mutating ? gate.begin(`${operation}${keyId ? ` on key ${keyId}` : ''}`) : undefined;
      try {
        // A client that makes one attempt per call (the fleet's, and `onceClient`) sends without options,
        // so the SDK reuses its resolved middleware; the handler wrapper applies the same signal. With
        // SDK retries the signal goes in the options, where it also ends a backoff wait.
        const sdk = once ? onceClient : client;
        const out = (await (once || attempts === 1 ? sdk.send(command) : sdk.send(command, abortSignal ? { abortSignal } : {}))) as T & { $metadata?: { requestId?: string } };
        settle?.(true);
        options.onRequest?.(operation, out.$metadata?.requestId);
        return out;
      } catch (e) {
        settle?.(false);
        if (gate && abortSignal?.aborted) throw gate.cancelled(operation, mutating ? 'abandoned' : 'aborted-read');
        const mapped = fromSdkError(e, operation, target);
        if (once && mapped.code === 'ERR_KMS_THROTTLED' && attempt < attempts) {
          await new Promise((r) => setTimeout(r, Math.random() * 100 * 2 ** attempt));
          continue;
        }
        throw mapped;
      }
    }
  }

  /** Runs a paged List* call to the end; stops on a repeated marker or past {@link MAX_PAGES}. */
  async function paged<P extends { NextMarker?: string; Truncated?: boolean }>(operation: string, page: (marker: string | undefined) => Promise<P>, take: (p: P) => void): Promise<void> {
    const seen = new Set<string>();
    let marker: string | undefined;
    for (let n = 1; ; n++) {
      const out = await page(marker);
      take(out);
      marker = out.Truncated ? out.NextMarker : undefined;
      if (!marker) return;
      if (seen.has(marker)) throw badResponse(operation, `NextMarker "${marker.slice(0, 40)}" repeated after ${n} pages (paging stopped)`);
      if (n >= MAX_PAGES) throw badResponse(operation, `still Truncated after ${MAX_PAGES} pages (paging stopped)`);
      seen.add(marker);
    }
  }

  const port: KmsPort = {
    region,

    forRegion: (other: string) => createAwsKms({ ...options, region: other }),

    async createKey(input: CreateKeyInput): Promise<KeyInfo> {
      const out = await send<{ KeyMetadata?: Record<string, unknown> }>(
        'CreateKey',
        new CreateKeyCommand({
          Origin: 'EXTERNAL',
          KeySpec: input.KeySpec,
          KeyUsage: input.KeyUsage,
          Description: input.Description,
          MultiRegion: input.MultiRegion,
          Tags: input.Tags,
          Policy: input.Policy,
        }),
      );
      return toKeyInfo('CreateKey', out.KeyMetadata);
    },

    async describeKey(keyId: string): Promise<KeyInfo> {
      const out = await send<{ KeyMetadata?: Record<string, unknown> }>('DescribeKey', new DescribeKeyCommand({ KeyId: keyId }));
      return toKeyInfo('DescribeKey', out.KeyMetadata);
    },

    async getParametersForImport(keyId, wrapping): Promise<ImportParameters> {
      const op = 'GetParametersForImport';
      const out = await send<{ KeyId?: string; PublicKey?: Uint8Array; ImportToken?: Uint8Array; ParametersValidTo?: Date }>(
        op,
        new GetParametersForImportCommand({ KeyId: keyId, ...wrapping }),
      );
      return {
        KeyId: requireString(op, 'KeyId', out.KeyId),
        PublicKey: Uint8Array.from(requireBytes(op, 'PublicKey', out.PublicKey)),
        ImportToken: Uint8Array.from(requireBytes(op, 'ImportToken', out.ImportToken)),
        ParametersValidTo: requireDate(op, 'ParametersValidTo', out.ParametersValidTo),
        WrappingAlgorithm: wrapping.WrappingAlgorithm,
        WrappingKeySpec: wrapping.WrappingKeySpec,
      };
    },

    async importKeyMaterial(input: ImportKeyMaterialInput) {
      const op = 'ImportKeyMaterial';
      const out = await send<{ KeyId?: string; KeyMaterialId?: string }>(
        op,
        new ImportKeyMaterialCommand({
          KeyId: input.KeyId,
          ImportToken: input.ImportToken,
          EncryptedKeyMaterial: input.EncryptedKeyMaterial,
          ExpirationModel: input.ExpirationModel,
          ValidTo: input.ValidTo,
          ImportType: input.ImportType,
          KeyMaterialId: input.KeyMaterialId,
          KeyMaterialDescription: input.KeyMaterialDescription,
        }),
        input.KeyId,
      );
      if (out.KeyMaterialId !== undefined && !/^[0-9a-f]{64}$/.test(out.KeyMaterialId)) {
        throw badResponse(op, `KeyMaterialId "${out.KeyMaterialId}"`);
      }
      const result: { KeyId: string; KeyMaterialId?: string } = { KeyId: out.KeyId ?? input.KeyId };
      if (out.KeyMaterialId) result.KeyMaterialId = out.KeyMaterialId;
      return result;
    },

    async deleteImportedKeyMaterial(keyId, keyMaterialId) {
      await send('DeleteImportedKeyMaterial', new DeleteImportedKeyMaterialCommand({ KeyId: keyId, KeyMaterialId: keyMaterialId }), keyId);
    },

    async createAlias(aliasName, keyId) {
      await send('CreateAlias', new CreateAliasCommand({ AliasName: aliasName, TargetKeyId: keyId }), keyId);
    },

    async updateAlias(aliasName, keyId) {
      await send('UpdateAlias', new UpdateAliasCommand({ AliasName: aliasName, TargetKeyId: keyId }), keyId);
    },

    async listAliases(keyId?: string): Promise<AliasInfo[]> {
      const aliases: AliasInfo[] = [];
      await paged(
        'ListAliases',
        (marker) => send<{ Aliases?: { AliasName?: string; TargetKeyId?: string }[]; NextMarker?: string; Truncated?: boolean }>('ListAliases', new ListAliasesCommand({ KeyId: keyId, Marker: marker })),
        (out) => {
          for (const a of out.Aliases ?? []) {
            const entry: AliasInfo = { AliasName: requireString('ListAliases', 'AliasName', a.AliasName) };
            if (a.TargetKeyId) entry.TargetKeyId = a.TargetKeyId;
            aliases.push(entry);
          }
        },
      );
      return aliases;
    },

    async encrypt(keyId, plaintext) {
      const out = await send<{ CiphertextBlob?: Uint8Array }>('Encrypt', new EncryptCommand({ KeyId: keyId, Plaintext: plaintext }));
      return Uint8Array.from(requireBytes('Encrypt', 'CiphertextBlob', out.CiphertextBlob));
    },

    async decrypt(keyId, ciphertext, encryptionContext) {
      const out = await send<{ Plaintext?: Uint8Array }>('Decrypt', new DecryptCommand({ KeyId: keyId, CiphertextBlob: ciphertext, ...(encryptionContext ? { EncryptionContext: { ...encryptionContext } } : {}) }));
      const plaintext = requireBytes('Decrypt', 'Plaintext', out.Plaintext);
      const copy = Uint8Array.from(plaintext);
      plaintext.fill(0);
      return copy;
    },

    async generateMac(keyId, message, macAlgorithm) {
      const out = await send<{ Mac?: Uint8Array }>('GenerateMac', new GenerateMacCommand({ KeyId: keyId, Message: message, MacAlgorithm: macAlgorithm }));
      return Uint8Array.from(requireBytes('GenerateMac', 'Mac', out.Mac));
    },

    async getPublicKey(keyId) {
      const out = await send<{ PublicKey?: Uint8Array }>('GetPublicKey', new GetPublicKeyCommand({ KeyId: keyId }));
      return Uint8Array.from(requireBytes('GetPublicKey', 'PublicKey', out.PublicKey));
    },

    async sign(keyId, message, signingAlgorithm) {
      const out = await send<{ Signature?: Uint8Array }>('Sign', new SignCommand({ KeyId: keyId, Message: message, MessageType: 'RAW', SigningAlgorithm: signingAlgorithm }));
      return Uint8Array.from(requireBytes('Sign', 'Signature', out.Signature));
    },

    async rotateKeyOnDemand(keyId) {
      await send('RotateKeyOnDemand', new RotateKeyOnDemandCommand({ KeyId: keyId }), keyId);
    },

    async listKeyRotations(keyId) {
      const materials: KeyMaterialInfo[] = [];
      await paged(
        'ListKeyRotations',
        (marker) => send<{ Rotations?: Record<string, unknown>[]; NextMarker?: string; Truncated?: boolean }>('ListKeyRotations', new ListKeyRotationsCommand({ KeyId: keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL', Marker: marker })),
        (out) => {
          for (const r of out.Rotations ?? []) materials.push(toKeyMaterialInfo('ListKeyRotations', r));
        },
      );
      return materials;
    },

    async replicateKey(keyId, replicaRegion) {
      const out = await send<{ ReplicaKeyMetadata?: Record<string, unknown> }>('ReplicateKey', new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: replicaRegion }), keyId);
      return toKeyInfo('ReplicateKey', out.ReplicaKeyMetadata);
    },

    async getKeyPolicy(keyId) {
      const out = await send<{ Policy?: string }>('GetKeyPolicy', new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default' }));
      return requireString('GetKeyPolicy', 'Policy', out.Policy);
    },

    async tagResource(keyId, tags) {
      await send('TagResource', new TagResourceCommand({ KeyId: keyId, Tags: tags.map((t) => ({ TagKey: t.TagKey, TagValue: t.TagValue })) }));
    },

    async listResourceTags(keyId) {
      const op = 'ListResourceTags';
      const tags: Tag[] = [];
      const seen = new Set<string>();
      let marker: string | undefined;
      for (let pages = 1; ; pages++) {
        const out = await send<{ Tags?: unknown; NextMarker?: unknown; Truncated?: unknown }>(op, new ListResourceTagsCommand({ KeyId: keyId, Marker: marker }));
        if (out.Tags !== undefined && !Array.isArray(out.Tags)) throw badResponse(op, 'Tags is not a list');
        for (const t of (out.Tags ?? []) as unknown[]) tags.push(toTag(op, t));
        marker = nextMarker(op, out, seen);
        if (marker === undefined) return tags;
        if (pages >= MAX_LIST_PAGES) throw badResponse(op, `still truncated after ${MAX_LIST_PAGES} pages`);
      }
    },

    async getKeyLastUsage(keyId) {
      const op = 'GetKeyLastUsage';
      const out = await send<{ KeyId?: string; KeyLastUsage?: { Operation?: string; Timestamp?: Date; CloudTrailEventId?: string; KmsRequestId?: string }; TrackingStartDate?: Date; KeyCreationDate?: Date }>(op, new GetKeyLastUsageCommand({ KeyId: keyId }));
      const u = out.KeyLastUsage;
      const r: KeyLastUsage = { KeyId: out.KeyId ?? keyId };
      if (u?.Operation) r.Operation = u.Operation;
      if (u?.Timestamp) r.Timestamp = requireDate(op, 'KeyLastUsage.Timestamp', u.Timestamp);
      if (u?.CloudTrailEventId) r.CloudTrailEventId = u.CloudTrailEventId;
      if (u?.KmsRequestId) r.KmsRequestId = u.KmsRequestId;
      if (out.TrackingStartDate) r.TrackingStartDate = requireDate(op, 'TrackingStartDate', out.TrackingStartDate);
      if (out.KeyCreationDate) r.KeyCreationDate = requireDate(op, 'KeyCreationDate', out.KeyCreationDate);
      return r;
    },

    async disableKey(keyId) {
      await send('DisableKey', new DisableKeyCommand({ KeyId: keyId }), keyId);
    },

    async enableKey(keyId) {
      await send('EnableKey', new EnableKeyCommand({ KeyId: keyId }), keyId);
    },

    async scheduleKeyDeletion(keyId, pendingWindowInDays) {
      const out = await send<{ DeletionDate?: Date }>('ScheduleKeyDeletion', new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: pendingWindowInDays }), keyId);
      return out.DeletionDate ? { DeletionDate: requireDate('ScheduleKeyDeletion', 'DeletionDate', out.DeletionDate) } : {};
    },

    async cancelKeyDeletion(keyId) {
      await send('CancelKeyDeletion', new CancelKeyDeletionCommand({ KeyId: keyId }), keyId);
    },

    async listKeys() {
      const ids: string[] = [];
      await paged(
        'ListKeys',
        (marker) => send<{ Keys?: { KeyId?: string }[]; NextMarker?: string; Truncated?: boolean }>('ListKeys', new ListKeysCommand({ Marker: marker })),
        (out) => {
          for (const k of out.Keys ?? []) ids.push(requireString('ListKeys', 'KeyId', k.KeyId));
        },
      );
      return ids;
    },
  };
  return port;
}
