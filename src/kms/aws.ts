/**
 * The KMS port over `@aws-sdk/client-kms`. The only module that imports the SDK. It honours the AWS
 * default credential chain, `profile`, `region` and `endpoint` (AWS_ENDPOINT_URL_KMS is read by the
 * CLI and passed in as `endpoint`), validates every response, copies plaintext out of SDK buffers and
 * turns every SDK error into a KmsByokError.
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
import type { AliasInfo, CreateKeyInput, ImportKeyMaterialInput, ImportParameters, KeyInfo, KeyMaterialInfo, KmsPort, Tag } from './port.js';
import { fromSdkError } from './errors.js';
import { MAX_LIST_PAGES, badResponse, nextMarker, requireBytes, requireDate, requireString, toKeyInfo, toKeyMaterialInfo, toTag } from './validate.js';

export interface AwsKmsOptions {
  region?: string;
  profile?: string;
  endpoint?: string;
  /** Static credentials (the emulator's dummy pair); otherwise the default credential chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** SDK attempts per call, including the first (default 3, the SDK's standard retry mode). */
  maxAttempts?: number;
  /** Milliseconds to wait for a TCP connection / for a response (defaults 5 s / 60 s). */
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Called after every successful call with the KMS request id, for transcripts. */
  onRequest?: (operation: string, requestId: string | undefined) => void;
}

/** Any KMS command; typed loosely here because `send` is generic over each command's own types. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Sendable = any;

/** Mutating calls whose automatic resend after a lost answer is not harmless (see `send`). */
const SENT_ONCE: ReadonlySet<string> = new Set(['CreateKey', 'CreateAlias', 'ImportKeyMaterial', 'RotateKeyOnDemand', 'ReplicateKey', 'DeleteImportedKeyMaterial']);

/** Creates a KmsPort that talks to AWS KMS (or anything speaking its protocol at `endpoint`). */
export async function createAwsKms(options: AwsKmsOptions): Promise<KmsPort> {
  const config: KMSClientConfig = {
    maxAttempts: options.maxAttempts ?? 3,
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
  const target = options.endpoint ?? `AWS KMS${options.region ? ` in ${options.region}` : ''}`;
  let region: string;
  try {
    region = await client.config.region();
  } catch (e) {
    throw fromSdkError(e, 'configuration', target);
  }

  async function send<T>(operation: string, command: Sendable): Promise<T> {
    const once = SENT_ONCE.has(operation);
    for (let attempt = 1; ; attempt++) {
      try {
        const out = (await (once ? onceClient : client).send(command)) as T & { $metadata?: { requestId?: string } };
        options.onRequest?.(operation, out.$metadata?.requestId);
        return out;
      } catch (e) {
        const mapped = fromSdkError(e, operation, target);
        if (once && mapped.code === 'ERR_KMS_THROTTLED' && attempt < attempts) {
          await new Promise((r) => setTimeout(r, Math.random() * 100 * 2 ** attempt));
          continue;
        }
        throw mapped;
      }
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
      );
      if (out.KeyMaterialId !== undefined && !/^[0-9a-f]{64}$/.test(out.KeyMaterialId)) {
        throw badResponse(op, `KeyMaterialId "${out.KeyMaterialId}"`);
      }
      const result: { KeyId: string; KeyMaterialId?: string } = { KeyId: out.KeyId ?? input.KeyId };
      if (out.KeyMaterialId) result.KeyMaterialId = out.KeyMaterialId;
      return result;
    },

    async deleteImportedKeyMaterial(keyId, keyMaterialId) {
      await send('DeleteImportedKeyMaterial', new DeleteImportedKeyMaterialCommand({ KeyId: keyId, KeyMaterialId: keyMaterialId }));
    },

    async createAlias(aliasName, keyId) {
      await send('CreateAlias', new CreateAliasCommand({ AliasName: aliasName, TargetKeyId: keyId }));
    },

    async updateAlias(aliasName, keyId) {
      await send('UpdateAlias', new UpdateAliasCommand({ AliasName: aliasName, TargetKeyId: keyId }));
    },

    async listAliases(keyId?: string): Promise<AliasInfo[]> {
      const aliases: AliasInfo[] = [];
      let marker: string | undefined;
      do {
        const out = await send<{ Aliases?: { AliasName?: string; TargetKeyId?: string }[]; NextMarker?: string; Truncated?: boolean }>(
          'ListAliases',
          new ListAliasesCommand({ KeyId: keyId, Marker: marker }),
        );
        for (const a of out.Aliases ?? []) {
          const entry: AliasInfo = { AliasName: requireString('ListAliases', 'AliasName', a.AliasName) };
          if (a.TargetKeyId) entry.TargetKeyId = a.TargetKeyId;
          aliases.push(entry);
        }
        marker = out.Truncated ? out.NextMarker : undefined;
      } while (marker);
      return aliases;
    },

    async encrypt(keyId, plaintext) {
      const out = await send<{ CiphertextBlob?: Uint8Array }>('Encrypt', new EncryptCommand({ KeyId: keyId, Plaintext: plaintext }));
      return Uint8Array.from(requireBytes('Encrypt', 'CiphertextBlob', out.CiphertextBlob));
    },

    async decrypt(keyId, ciphertext) {
      const out = await send<{ Plaintext?: Uint8Array }>('Decrypt', new DecryptCommand({ KeyId: keyId, CiphertextBlob: ciphertext }));
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
      await send('RotateKeyOnDemand', new RotateKeyOnDemandCommand({ KeyId: keyId }));
    },

    async listKeyRotations(keyId) {
      const materials: KeyMaterialInfo[] = [];
      let marker: string | undefined;
      do {
        const out = await send<{ Rotations?: Record<string, unknown>[]; NextMarker?: string; Truncated?: boolean }>(
          'ListKeyRotations',
          new ListKeyRotationsCommand({ KeyId: keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL', Marker: marker }),
        );
        for (const r of out.Rotations ?? []) materials.push(toKeyMaterialInfo('ListKeyRotations', r));
        marker = out.Truncated ? out.NextMarker : undefined;
      } while (marker);
      return materials;
    },

    async replicateKey(keyId, replicaRegion) {
      const out = await send<{ ReplicaKeyMetadata?: Record<string, unknown> }>('ReplicateKey', new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: replicaRegion }));
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

    async listKeys() {
      const ids: string[] = [];
      let marker: string | undefined;
      do {
        const out = await send<{ Keys?: { KeyId?: string }[]; NextMarker?: string; Truncated?: boolean }>('ListKeys', new ListKeysCommand({ Marker: marker }));
        for (const k of out.Keys ?? []) ids.push(requireString('ListKeys', 'KeyId', k.KeyId));
        marker = out.Truncated ? out.NextMarker : undefined;
      } while (marker);
      return ids;
    },
  };
  return port;
}
