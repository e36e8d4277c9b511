// The AWS SDK's own CPU floor for a fleet re-import (benchmark 2's diagnostic): run as a child
// process, it sends through a bare @aws-sdk/client-kms client (middleware cached, one attempt per call,
// as kms-byok's fleet client does: src/kms/aws.ts) the calls kms-byok makes per symmetric key except
// ImportKeyMaterial (it needs the key's material): DescribeKey, ListKeyRotations, ListResourceTags,
// GetParametersForImport, Encrypt, Decrypt — BENCH_CONCURRENCY keys in flight (default 12), as the
// bench's runs. Prints JSON: CPU per key (user + system, µs) over the measured calls, without start-up.
//
//   node sdk-floor.mjs ENDPOINT KEYS_JSON   (KEYS_JSON: [{ keyId, region }])
import { readFileSync } from 'node:fs';
import { DecryptCommand, DescribeKeyCommand, EncryptCommand, GetParametersForImportCommand, KMSClient, ListKeyRotationsCommand, ListResourceTagsCommand } from '@aws-sdk/client-kms';

const [endpoint, keysFile] = process.argv.slice(2);
const keys = JSON.parse(readFileSync(keysFile, 'utf8'));
const clients = new Map();
const clientOf = (region) => {
  if (!clients.has(region)) clients.set(region, new KMSClient({ region, endpoint, credentials: { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench' }, cacheMiddleware: true, maxAttempts: 1 }));
  return clients.get(region);
};
async function perKey({ keyId, region }) {
  const kms = clientOf(region);
  await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
  await kms.send(new ListKeyRotationsCommand({ KeyId: keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }));
  await kms.send(new ListResourceTagsCommand({ KeyId: keyId }));
  await kms.send(new GetParametersForImportCommand({ KeyId: keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
  const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: new Uint8Array(32) }));
  await kms.send(new DecryptCommand({ KeyId: keyId, CiphertextBlob }));
}
await perKey(keys[0]); // warm: modules loaded, connections open, handlers cached
const c0 = process.cpuUsage();
let next = 1;
await Promise.all(Array.from({ length: Number(process.env.BENCH_CONCURRENCY ?? 12) }, async () => {
  while (next < keys.length) await perKey(keys[next++]);
}));
const c = process.cpuUsage(c0);
process.stdout.write(JSON.stringify({ keys: keys.length - 1, calls: 6, cpuMicrosPerKey: (c.user + c.system) / (keys.length - 1) }));
for (const k of clients.values()) k.destroy();
