import * as age from 'age-encryption';
import { describe, expect, test } from 'vitest';
import { KmsByokError } from '../../src/core/errors.js';
import { SecretBytes } from '../../src/core/secret.js';
import { manifestToJson, parseShare, serializeComponent, serializeShare, sha256Hex } from '../../src/escrow/format.js';
import { sealArmored } from '../../src/escrow/seal.js';
import {
  assertSidecarUpdate,
  disposePayload,
  inspectEscrow,
  nextEscrowContents,
  openCustodianFile,
  openEscrow,
  parseRecipient,
  recordImport,
  sealEscrow,
  type EscrowSealing,
  type LoadedEscrow,
  type SealedEscrow,
} from '../../src/escrow/vault.js';
import { bytesOf, codeOf, contents, knownMaterial, material, newIdentity, secretText, testDeps, testStandInCheckValue } from './helpers.js';

const loadedOf = (s: SealedEscrow): LoadedEscrow => ({ sidecar: s.sidecar, files: s.files.map((f) => ({ name: f.name, bytes: f.bytes })) });
const twoMaterials = () => [material(1, knownMaterial(1)), material(2, knownMaterial(2))];

async function three() {
  return Promise.all([newIdentity(), newIdentity(), newIdentity()]);
}

describe('parseRecipient', () => {
  test('accepts X25519 and post-quantum hybrid recipients and says which', async () => {
    const x = await newIdentity();
    const pq = await newIdentity('pq');
    expect(parseRecipient(x.recipient)).toEqual({ recipient: x.recipient, kind: 'x25519' });
    expect(parseRecipient(` ${pq.recipient}\n`)).toEqual({ recipient: pq.recipient, kind: 'pq-hybrid' });
  });

  test.each([
    ['empty', ''],
    ['an SSH key', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpuf0Ig4ILcJ2mcxS2l+jH2ZI6lBkbJ8P0K'],
    ['a bad checksum', 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8q'],
    ['upper case', 'AGE1QL3Z7HJY54PW3HYWW5AYYFG7ZQGVC7W3J2ELW8ZMRJ2KG5SFN9AQMCAC8P'],
    ['truncated', 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmc'],
    ['a plugin recipient', 'age1yubikey1qwt50d05nh5vutpdzmlg5wn80xq5negm4uj9ghv0snvdd3yysf5yw3rhl3t'],
    ['a tag recipient', 'age1tag1qwe0kafsjrar4txm6heqnhpfuggzr0gvznz7fvygxrlq90u5mq2pysxtw6h'],
    ['a truncated post-quantum recipient', 'age1pq1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq'],
  ])('refuses %s with ERR_INVALID_RECIPIENT naming it', (_what, text) => {
    let err: unknown;
    try {
      parseRecipient(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KmsByokError);
    expect((err as KmsByokError).code).toBe('ERR_INVALID_RECIPIENT');
    expect((err as KmsByokError).message).toContain(JSON.stringify(text.trim().length <= 24 ? text.trim() : text.trim().slice(0, 14)).slice(0, -1));
  });

  test.each([
    ['an X25519 identity', 'AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ'],
    ['a post-quantum identity', 'AGE-SECRET-KEY-PQ-1QZXY7W0PQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ'],
    ['a lower-case identity', 'age-secret-key-1qzxy7w0pqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq'],
  ])('refuses %s given as a recipient: called a private key, no part of it echoed', (_what, text) => {
    let err: unknown;
    try {
      parseRecipient(text, '--recipient');
    } catch (e) {
      err = e;
    }
    expect((err as KmsByokError).code).toBe('ERR_INVALID_RECIPIENT');
    expect((err as KmsByokError).message).toBe('--recipient got an age PRIVATE key: give its public age1… line; keep the private key secret');
    expect(`${(err as KmsByokError).message} ${(err as KmsByokError).hint}`).not.toMatch(/QQQQ|qqqq|QZXY|qzxy/);
  });

  test('the quoted recipient in the message is the one refused (long ones abbreviated)', () => {
    expect(() => parseRecipient('age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8q')).toThrow('invalid age recipient "age1ql3z7hjy54…mcac8q"');
  });
});

describe('sealing is refused before anything is written', () => {
  test('an invalid recipient, named with its custodian label', async () => {
    const a = await newIdentity();
    const sealing = { recipients: [{ recipient: a.recipient, label: 'alice' }, { recipient: 'age1nope', label: 'bob' }] };
    await expect(sealEscrow(contents([material(1, knownMaterial(1))]), sealing, testDeps)).rejects.toMatchObject({
      code: 'ERR_INVALID_RECIPIENT',
      message: expect.stringContaining('(custodian "bob")'),
    });
  });

  test.each<[string, (r: string[]) => EscrowSealing, string]>([
    ['a recipient listed twice', (r) => ({ recipients: [{ recipient: r[0]! }, { recipient: r[0]! }] }), 'ERR_INVALID_RECIPIENT'],
    ['an empty passphrase', () => ({ recipients: [], passphrase: SecretBytes.adopt(new Uint8Array(0)) }), 'ERR_EMPTY_PASSPHRASE'],
    ['no recipient and no passphrase', () => ({ recipients: [] }), 'ERR_MISSING_INPUT'],
    ['threshold and XOR together', (r) => ({ recipients: r.map((x) => ({ recipient: x })), threshold: 2, split: 'xor' }), 'ERR_INVALID_COMBINATION'],
    ['a passphrase with a threshold', (r) => ({ recipients: r.map((x) => ({ recipient: x })), threshold: 2, passphrase: secretText('pw') }), 'ERR_INVALID_COMBINATION'],
    ['a passphrase with an XOR split', (r) => ({ recipients: r.map((x) => ({ recipient: x })), split: 'xor', passphrase: secretText('pw') }), 'ERR_INVALID_COMBINATION'],
    ['threshold 1', (r) => ({ recipients: r.map((x) => ({ recipient: x })), threshold: 1 }), 'ERR_INVALID_ARGUMENT'],
    ['threshold above the number of recipients', (r) => ({ recipients: r.map((x) => ({ recipient: x })), threshold: 4 }), 'ERR_INVALID_ARGUMENT'],
    ['an XOR split with one custodian', (r) => ({ recipients: [{ recipient: r[0]! }], split: 'xor' }), 'ERR_INVALID_ARGUMENT'],
  ])('%s', async (_what, make, code) => {
    const ids = await three();
    expect(await codeOf(() => sealEscrow(contents([material(1, knownMaterial(1))]), make(ids.map((i) => i.recipient)), testDeps))).toBe(code);
  });

  test('classic and post-quantum recipients in one file (a classic one would void the PQ protection)', async () => {
    const [x, pq] = [await newIdentity(), await newIdentity('pq')];
    const sealing = { recipients: [{ recipient: x.recipient }, { recipient: pq.recipient }] };
    expect(await codeOf(() => sealEscrow(contents([material(1, knownMaterial(1))]), sealing, testDeps))).toBe('ERR_INVALID_COMBINATION');
  });

  test('a material whose check value does not match it', async () => {
    const a = await newIdentity();
    const m = { ...material(1, knownMaterial(1)), checkValue: 'test-sha256:000000' };
    expect(await codeOf(() => sealEscrow(contents([m]), { recipients: [{ recipient: a.recipient }] }, testDeps))).toBe('ERR_CHECK_VALUE_MISMATCH');
  });

  test('materials not numbered 1, 2, … and a key ARN that names another key', async () => {
    const a = await newIdentity();
    const s = { recipients: [{ recipient: a.recipient }] };
    expect(await codeOf(() => sealEscrow(contents([material(2, knownMaterial(1))]), s, testDeps))).toBe('ERR_INVALID_ARGUMENT');
    const c = contents([material(1, knownMaterial(1))]);
    expect(await codeOf(() => sealEscrow({ ...c, key: { ...c.key, region: 'us-east-1' } }, s, testDeps))).toBe('ERR_INVALID_ARGUMENT');
    expect(await codeOf(() => sealEscrow({ ...c, key: { ...c.key, keyId: '../../etc/passwd' } }, s, testDeps))).toBe('ERR_INVALID_ARGUMENT');
  });
});

describe('sealing modes', () => {
  test('recipients: one armored file any listed custodian opens, stock-age compatible', async () => {
    const ids = await three();
    const sealed = await sealEscrow(contents(twoMaterials()), { recipients: ids.map((i, n) => ({ recipient: i.recipient, label: `c${n}` })) }, testDeps);
    expect(sealed.files.map((f) => [f.name, f.role])).toEqual([['1234abcd-12ab-34cd-56ef-1234567890ab.v1.age', 'recipients']]);
    expect(new TextDecoder().decode(sealed.files[0]!.bytes)).toMatch(/^-----BEGIN AGE ENCRYPTED FILE-----\n[\s\S]*\n-----END AGE ENCRYPTED FILE-----\n$/);
    for (const i of ids) {
      const p = await openEscrow(loadedOf(sealed), { identities: [i.identity] }, testDeps);
      expect(bytesOf(p.materials[1]!.material)).toEqual(knownMaterial(2));
      disposePayload(p);
    }
  });

  test('recipients + passphrase: two sealed copies, both recorded in the sidecar, each opens', async () => {
    const a = await newIdentity();
    const sealed = await sealEscrow(contents(twoMaterials()), { recipients: [{ recipient: a.recipient }], passphrase: secretText('correct horse') }, testDeps);
    expect(sealed.sidecar.files.map((f) => [f.name.slice(36), f.role])).toEqual([
      ['.v1.age', 'recipients'],
      ['.v1.passphrase.age', 'passphrase'],
    ]);
    expect(sealed.sidecar.files.map((f) => f.sha256)).toEqual(sealed.files.map((f) => sha256Hex(f.bytes)));
    for (const opener of [{ identities: [a.identity] }, { passphrase: secretText('correct horse') }]) {
      const p = await openEscrow(loadedOf(sealed), opener, testDeps);
      expect(bytesOf(p.materials[0]!.material)).toEqual(knownMaterial(1));
      disposePayload(p);
    }
    expect(inspectEscrow(sealed.sidecar).sealing).toBe('recipients+passphrase');
  });

  test('passphrase only: the main file is passphrase-sealed; an identity cannot open it', async () => {
    const a = await newIdentity();
    const sealed = await sealEscrow(contents(twoMaterials()), { recipients: [], passphrase: secretText('pw') }, testDeps);
    expect(sealed.files.map((f) => [f.name.slice(36), f.role])).toEqual([['.v1.age', 'passphrase']]);
    expect(await codeOf(() => openEscrow(loadedOf(sealed), { identities: [a.identity] }, testDeps))).toBe('ERR_ESCROW_DECRYPT');
  });

  test('post-quantum recipients seal hybrid stanzas', async () => {
    const pq = await newIdentity('pq');
    const sealed = await sealEscrow(contents(twoMaterials()), { recipients: [{ recipient: pq.recipient }] }, testDeps);
    const binary = age.armor.decode(new TextDecoder().decode(sealed.files[0]!.bytes));
    expect(new TextDecoder().decode(binary.subarray(0, 60))).toContain('-> mlkem768x25519 ');
    const p = await openEscrow(loadedOf(sealed), { identities: [pq.identity] }, testDeps);
    expect(p.manifest.custodians.recipients[0]!.kind).toBe('pq-hybrid');
    disposePayload(p);
  });

  test('2-of-3: payload sealed to a fresh identity, one share file per custodian sealed to that custodian alone', async () => {
    const ids = await three();
    const sealing = { recipients: ids.map((i, n) => ({ recipient: i.recipient, label: ['alice', 'bob', 'carol'][n]! })), threshold: 2 };
    const sealed = await sealEscrow(contents(twoMaterials()), sealing, testDeps);
    expect(sealed.files.map((f) => [f.name.slice(36), f.role, f.holder?.label])).toEqual([
      ['.v1.age', 'threshold-payload', undefined],
      ['.v1.share-1.age', 'share', 'alice'],
      ['.v1.share-2.age', 'share', 'bob'],
      ['.v1.share-3.age', 'share', 'carol'],
    ]);
    // Each share file opens for its holder only.
    for (let n = 0; n < 3; n++) {
      for (let m = 0; m < 3; m++) {
        const outcome = await codeOf(() => openCustodianFile(sealed.files[n + 1]!.bytes, [ids[m]!.identity], 'share'));
        expect(outcome).toBe(n === m ? 'did not throw' : 'ERR_ESCROW_DECRYPT');
      }
    }
    // No custodian's identity opens the payload itself.
    for (const i of ids) {
      expect(await codeOf(() => openCustodianFile(sealed.files[0]!.bytes, [i.identity], 'payload'))).toBe('ERR_ESCROW_DECRYPT');
    }
    expect(sealed.manifest.custodians.payloadRecipient).toMatch(/^age1[0-9a-z]{58}$/);
  });

  test('2-of-3 with a post-quantum custodian: the payload identity is post-quantum too', async () => {
    const [a, b, pq] = [await newIdentity(), await newIdentity(), await newIdentity('pq')];
    const sealing = { recipients: [a, b, pq].map((i) => ({ recipient: i.recipient })), threshold: 2 };
    const sealed = await sealEscrow(contents(twoMaterials()), sealing, testDeps);
    expect(sealed.manifest.custodians.payloadRecipient).toMatch(/^age1pq1/);
    const p = await openEscrow(loadedOf(sealed), { identities: [a.identity, pq.identity] }, testDeps);
    expect(bytesOf(p.materials[1]!.material)).toEqual(knownMaterial(2));
    disposePayload(p);
  });

  test('XOR: each custodian holds full-length components with their own check values; all together open it', async () => {
    const ids = await three();
    const sealed = await sealEscrow(contents(twoMaterials()), { recipients: ids.map((i) => ({ recipient: i.recipient })), split: 'xor' }, testDeps);
    expect(sealed.files.map((f) => f.role)).toEqual(['component', 'component', 'component']);
    const docs = await Promise.all(ids.map((i, n) => openCustodianFile(sealed.files[n]!.bytes, [i.identity], 'component')));
    const texts = docs.map((d) => JSON.parse(new TextDecoder().decode(bytesOf(d))) as { materials: { component: string; componentCheckValue: string }[] });
    for (const t of texts) {
      expect(Buffer.from(t.materials[0]!.component, 'base64')).toHaveLength(32);
      expect(Buffer.from(t.materials[0]!.component, 'base64')).not.toEqual(Buffer.from(knownMaterial(1)));
    }
    expect(sealed.sidecar.materials[0]!.components!.map((c) => c.checkValue)).toEqual(texts.map((t) => t.materials[0]!.componentCheckValue));
    const p = await openEscrow(loadedOf(sealed), { components: docs }, testDeps);
    expect(bytesOf(p.materials[0]!.material)).toEqual(knownMaterial(1));
    expect(bytesOf(p.materials[1]!.material)).toEqual(knownMaterial(2));
    disposePayload(p);
    expect(await codeOf(() => openEscrow(loadedOf(sealed), { identities: [ids[0]!.identity, ids[2]!.identity] }, testDeps))).toBe('ERR_ESCROW_TOO_FEW_SHARES');
    await expect(openEscrow(loadedOf(sealed), { components: [docs[0]!, docs[1]!] }, testDeps)).rejects.toThrow(
      'all 3 components are needed, 2 given: 1 more needed',
    );
    expect(await codeOf(() => openEscrow(loadedOf(sealed), { components: [docs[0]!, docs[1]!, docs[1]!] }, testDeps))).toBe('ERR_ESCROW_DUPLICATE_SHARE');
  });

  test('sealing borrows the materials: they are intact afterwards', async () => {
    const a = await newIdentity();
    const ms = twoMaterials();
    await sealEscrow(contents(ms), { recipients: [{ recipient: a.recipient }] }, testDeps);
    expect(bytesOf(ms[0]!.material)).toEqual(knownMaterial(1));
  });
});

describe('opening fails closed', () => {
  async function plain() {
    const a = await newIdentity();
    const sealed = await sealEscrow(contents(twoMaterials()), { recipients: [{ recipient: a.recipient }], passphrase: secretText('right') }, testDeps);
    return { a, sealed, loaded: loadedOf(sealed) };
  }

  test('wrong identity, wrong passphrase, invalid identity', async () => {
    const { loaded } = await plain();
    const other = await newIdentity();
    expect(await codeOf(() => openEscrow(loaded, { identities: [other.identity] }, testDeps))).toBe('ERR_ESCROW_DECRYPT');
    expect(await codeOf(() => openEscrow(loaded, { passphrase: secretText('wrong') }, testDeps))).toBe('ERR_ESCROW_DECRYPT');
    expect(await codeOf(() => openEscrow(loaded, { identities: ['AGE-SECRET-KEY-1NOPE'] }, testDeps))).toBe('ERR_IDENTITY');
  });

  test.each<[string, (m: Record<string, unknown>) => void, string]>([
    ['region', (m) => (m.region = 'eu-west-2'), 'manifest.region'],
    ['createdBy', (m) => (m.createdBy = 'mallory@elsewhere'), 'manifest.createdBy'],
    ['custodians', (m) => ((m.custodians as { passphrase: boolean }).passphrase = false), 'manifest.custodians'],
    ['keySpec', (m) => (m.keySpec = 'HMAC_256'), 'manifest.keySpec'],
    ['escrowId', (m) => (m.escrowId = '0'.repeat(32)), 'manifest.escrowId'],
  ])('sidecar manifest disagreeing on %s: ERR_ESCROW_MISMATCH naming the field', async (_f, change, field) => {
    const { a, sealed } = await plain();
    const json = manifestToJson(sealed.sidecar.manifest);
    change(json);
    const { parseSidecar, sidecarToJson } = await import('../../src/escrow/format.js');
    const sidecar = parseSidecar({ ...sidecarToJson(sealed.sidecar), manifest: json });
    await expect(openEscrow({ ...loadedOf(sealed), sidecar }, { identities: [a.identity] }, testDeps)).rejects.toMatchObject({
      code: 'ERR_ESCROW_MISMATCH',
      message: `the sealed manifest and the sidecar disagree on ${field}`,
    });
  });

  test('sidecar check value or KeyMaterialId disagreeing with the sealed material: ERR_ESCROW_MISMATCH', async () => {
    const { a, sealed } = await plain();
    const cv = { ...sealed.sidecar, materials: sealed.sidecar.materials.map((m, i) => (i === 1 ? { ...m, checkValue: 'test-sha256:ABCDEF' } : m)) };
    expect(await codeOf(() => openEscrow({ ...loadedOf(sealed), sidecar: cv }, { identities: [a.identity] }, testDeps))).toBe('ERR_ESCROW_MISMATCH');
    const fewer = { ...sealed.sidecar, materials: sealed.sidecar.materials.slice(0, 1) };
    expect(await codeOf(() => openEscrow({ ...loadedOf(sealed), sidecar: fewer }, { identities: [a.identity] }, testDeps))).toBe('ERR_ESCROW_MISMATCH');
    // A KeyMaterialId sealed with the material can never be contradicted by the sidecar.
    const b = await newIdentity();
    const withId = await sealEscrow(contents([material(1, knownMaterial(1), { keyMaterialId: 'c3'.repeat(32) })]), { recipients: [{ recipient: b.recipient }] }, testDeps);
    const lying = { ...withId.sidecar, materials: [{ ...withId.sidecar.materials[0]!, keyMaterialId: 'd4'.repeat(32) }] };
    expect(await codeOf(() => openEscrow({ ...loadedOf(withId), sidecar: lying }, { identities: [b.identity] }, testDeps))).toBe('ERR_ESCROW_MISMATCH');
  });

  test('a material that does not match its own check value: ERR_CHECK_VALUE_MISMATCH', async () => {
    const a = await newIdentity();
    // Sealed by a build whose check-value function lied (or the material changed in between).
    const lyingDeps = { ...testDeps, computeCheckValue: () => 'test-sha256:123456' };
    const m = { ...material(1, knownMaterial(1)), checkValue: 'test-sha256:123456' };
    const sealed = await sealEscrow(contents([m]), { recipients: [{ recipient: a.recipient }] }, lyingDeps);
    await expect(openEscrow(loadedOf(sealed), { identities: [a.identity] }, testDeps)).rejects.toMatchObject({
      code: 'ERR_CHECK_VALUE_MISMATCH',
      message: `material 1: check value is ${testStandInCheckValue(m.material, 'SYMMETRIC_DEFAULT', 'test-sha256')}, the escrow records test-sha256:123456`,
    });
  });

  test('a sealed file changed after sealing: ERR_ESCROW_TAMPERED from the recorded SHA-256', async () => {
    const { a, sealed } = await plain();
    const bytes = Uint8Array.from(sealed.files[0]!.bytes);
    bytes[100] = bytes[100] === 0x41 ? 0x42 : 0x41;
    const loaded = { sidecar: sealed.sidecar, files: [{ name: sealed.files[0]!.name, bytes }, { name: sealed.files[1]!.name, bytes: sealed.files[1]!.bytes }] };
    expect(await codeOf(() => openEscrow(loaded, { identities: [a.identity] }, testDeps))).toBe('ERR_ESCROW_TAMPERED');
    // Even the passphrase copy, which is intact, is not opened from a partly tampered escrow.
    expect(await codeOf(() => openEscrow(loaded, { passphrase: secretText('right') }, testDeps))).toBe('ERR_ESCROW_TAMPERED');
  });

  test('a missing sealed file: ERR_ESCROW_NOT_FOUND', async () => {
    const { a, sealed } = await plain();
    expect(await codeOf(() => openEscrow({ sidecar: sealed.sidecar, files: [] }, { identities: [a.identity] }, testDeps))).toBe('ERR_ESCROW_NOT_FOUND');
  });

  test('an unknown format version is refused, naming the version this build reads', async () => {
    const a = await newIdentity();
    const { sealed } = await plain();
    const future = new TextEncoder().encode(JSON.stringify({ format: 'kms-byok-escrow', version: 2, manifest: {}, materials: [], wormholes: true }));
    const bytes = await sealArmored(future, { recipients: [a.recipient] });
    const sidecar = { ...sealed.sidecar, files: [{ ...sealed.sidecar.files[0]!, sha256: sha256Hex(bytes) }] };
    await expect(openEscrow({ sidecar, files: [{ name: sealed.files[0]!.name, bytes }] }, { identities: [a.identity] }, testDeps)).rejects.toMatchObject({
      code: 'ERR_ESCROW_VERSION',
      message: 'escrow payload: format version 2 is not supported: this build reads version 1',
    });
  });

  test('a payload that is valid JSON but not format v1 (unknown field): ERR_ESCROW_FORMAT', async () => {
    const a = await newIdentity();
    const { sealed } = await plain();
    const odd = new TextEncoder().encode(JSON.stringify({ format: 'kms-byok-escrow', version: 1, manifest: manifestToJson(sealed.manifest), materials: [], extra: 1 }));
    const bytes = await sealArmored(odd, { recipients: [a.recipient] });
    const sidecar = { ...sealed.sidecar, files: [{ ...sealed.sidecar.files[0]!, sha256: sha256Hex(bytes) }] };
    expect(await codeOf(() => openEscrow({ sidecar, files: [{ name: sealed.files[0]!.name, bytes }] }, { identities: [a.identity] }, testDeps))).toBe('ERR_ESCROW_FORMAT');
  });
});

describe('m-of-n opening', () => {
  async function twoOfThree() {
    const ids = await three();
    const sealing = { recipients: ids.map((i, n) => ({ recipient: i.recipient, label: ['alice', 'bob', 'carol'][n]! })), threshold: 2 };
    const sealed = await sealEscrow(contents(twoMaterials()), sealing, testDeps);
    const docs = await Promise.all(ids.map((i, n) => openCustodianFile(sealed.files[n + 1]!.bytes, [i.identity], `share-${n + 1}`)));
    return { ids, sealed, docs, loaded: loadedOf(sealed) };
  }

  test('too few shares say how many are missing', async () => {
    const { loaded, docs, ids } = await twoOfThree();
    await expect(openEscrow(loaded, { shares: [docs[0]!] }, testDeps)).rejects.toMatchObject({
      code: 'ERR_ESCROW_TOO_FEW_SHARES',
      message: '2 of 3 shares are needed, 1 given: 1 more needed',
    });
    await expect(openEscrow(loaded, { identities: [(await newIdentity()).identity] }, testDeps)).rejects.toThrow('2 of 3 shares are needed, 0 given: 2 more needed');
    await expect(openEscrow(loaded, { identities: [ids[1]!.identity] }, testDeps)).rejects.toThrow('1 more needed');
  });

  test('a duplicated share is refused', async () => {
    const { loaded, docs } = await twoOfThree();
    await expect(openEscrow(loaded, { shares: [docs[1]!, docs[1]!] }, testDeps)).rejects.toMatchObject({
      code: 'ERR_ESCROW_DUPLICATE_SHARE',
      message: 'share 2 (bob) was given twice',
    });
  });

  test('a share from another escrow (even of the same key) is recognised', async () => {
    const first = await twoOfThree();
    const second = await twoOfThree();
    await expect(openEscrow(first.loaded, { shares: [first.docs[0]!, second.docs[1]!] }, testDeps)).rejects.toMatchObject({
      code: 'ERR_ESCROW_FOREIGN_SHARE',
      message: expect.stringContaining('share 2 (bob) belongs to another escrow'),
    });
  });

  test('a forged share (right escrow id, wrong bytes) never opens it; with a spare good share it still opens', async () => {
    const { loaded, docs } = await twoOfThree();
    const doc = docs[2]!.use((b) => parseShare(b));
    const forgedBytes = doc.share.use((b) => Uint8Array.from(b));
    forgedBytes[0] = forgedBytes[0]! ^ 0xff;
    const forged = SecretBytes.adopt(serializeShare({ ...doc, share: SecretBytes.adopt(forgedBytes) }));
    expect(await codeOf(() => openEscrow(loaded, { shares: [docs[0]!, forged] }, testDeps))).toBe('ERR_ESCROW_TAMPERED');
    const p = await openEscrow(loaded, { shares: [docs[0]!, forged, docs[1]!] }, testDeps);
    expect(bytesOf(p.materials[0]!.material)).toEqual(knownMaterial(1));
    disposePayload(p);
  });

  test('a share whose fields disagree with the manifest: ERR_ESCROW_MISMATCH', async () => {
    const { loaded, docs } = await twoOfThree();
    const doc = docs[2]!.use((b) => parseShare(b));
    const altered = SecretBytes.adopt(serializeShare({ ...doc, threshold: 3 }));
    expect(await codeOf(() => openEscrow(loaded, { shares: [docs[0]!, altered] }, testDeps))).toBe('ERR_ESCROW_MISMATCH');
  });

  test('shares cannot open a plain escrow and identities of non-custodians open nothing', async () => {
    const a = await newIdentity();
    const plain = await sealEscrow(contents(twoMaterials()), { recipients: [{ recipient: a.recipient }] }, testDeps);
    const { docs } = await twoOfThree();
    expect(await codeOf(() => openEscrow(loadedOf(plain), { shares: docs }, testDeps))).toBe('ERR_INVALID_COMBINATION');
  });
});

describe('XOR opening', () => {
  test('a component from another escrow and a damaged component are refused', async () => {
    const ids = await three();
    const sealing = { recipients: ids.map((i) => ({ recipient: i.recipient })), split: 'xor' as const };
    const a = await sealEscrow(contents(twoMaterials()), sealing, testDeps);
    const b = await sealEscrow(contents(twoMaterials()), sealing, testDeps);
    const docsA = await Promise.all(ids.map((i, n) => openCustodianFile(a.files[n]!.bytes, [i.identity], 'c')));
    const docsB = await Promise.all(ids.map((i, n) => openCustodianFile(b.files[n]!.bytes, [i.identity], 'c')));
    expect(await codeOf(() => openEscrow(loadedOf(a), { components: [docsA[0]!, docsB[1]!, docsA[2]!] }, testDeps))).toBe('ERR_ESCROW_FOREIGN_SHARE');
    const { parseComponent } = await import('../../src/escrow/format.js');
    const doc = docsA[1]!.use((x) => parseComponent(x));
    const bad = doc.materials[0]!.component.use((x) => Uint8Array.from(x));
    bad[5] = bad[5]! ^ 1;
    const damaged = SecretBytes.adopt(serializeComponent({ ...doc, materials: [{ ...doc.materials[0]!, component: SecretBytes.adopt(bad) }, doc.materials[1]!] }));
    expect(await codeOf(() => openEscrow(loadedOf(a), { components: [docsA[0]!, damaged, docsA[2]!] }, testDeps))).toBe('ERR_CHECK_VALUE_MISMATCH');
  });
});

describe('facts learned after sealing', () => {
  async function sealedOne() {
    const a = await newIdentity();
    return sealEscrow(contents(twoMaterials()), { recipients: [{ recipient: a.recipient }] }, testDeps);
  }
  const fact = {
    materialIndex: 1,
    importedAt: '2026-03-01T00:00:00Z',
    region: 'eu-west-1',
    expirationModel: 'KEY_MATERIAL_EXPIRES' as const,
    validTo: '2027-03-01T00:00:00Z',
    keyMaterialId: 'e5'.repeat(32),
  };

  test('recordImport records the KeyMaterialId, the first import and the ValidTo history', async () => {
    const sealed = await sealedOne();
    const once = recordImport(sealed.sidecar, fact);
    const twice = recordImport(once, { ...fact, importedAt: '2027-02-01T00:00:00Z', validTo: '2028-02-01T00:00:00Z' });
    assertSidecarUpdate(sealed.sidecar, once);
    assertSidecarUpdate(once, twice);
    const summary = inspectEscrow(twice);
    expect(summary.materials[0]).toMatchObject({ keyMaterialId: 'e5'.repeat(32), firstImportedAt: '2026-03-01T00:00:00Z', validTo: '2028-02-01T00:00:00Z' });
    expect(summary.materials[0]!.validToHistory).toHaveLength(2);
    expect(summary.materials[1]).not.toHaveProperty('keyMaterialId');
    expect(twice.updated).toBe('2027-02-01T00:00:00Z');
  });

  test('a different KeyMaterialId for the same material is refused', async () => {
    const once = recordImport((await sealedOne()).sidecar, fact);
    expect(await codeOf(() => recordImport(once, { ...fact, keyMaterialId: 'f6'.repeat(32) }))).toBe('ERR_ESCROW_MISMATCH');
  });

  test('an invalid fact (ValidTo with DOES_NOT_EXPIRE, unknown material) is refused', async () => {
    const s = (await sealedOne()).sidecar;
    expect(await codeOf(() => recordImport(s, { ...fact, expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }))).toBe('ERR_INVALID_ARGUMENT');
    expect(await codeOf(() => recordImport(s, { ...fact, materialIndex: 3 }))).toBe('ERR_INVALID_ARGUMENT');
  });

  test.each<[string, (s: ReturnType<typeof recordImport>) => ReturnType<typeof recordImport>]>([
    ['the manifest', (s) => ({ ...s, manifest: { ...s.manifest, createdBy: 'someone@else' } })],
    ['a file hash', (s) => ({ ...s, files: s.files.map((f) => ({ ...f, sha256: '0'.repeat(64) })) })],
    ['a check value', (s) => ({ ...s, materials: s.materials.map((m) => ({ ...m, checkValue: 'test-sha256:000000' })) })],
    ['a known KeyMaterialId', (s) => ({ ...s, materials: s.materials.map((m) => ({ ...m, keyMaterialId: 'f6'.repeat(32) })) })],
    ['the ValidTo history', (s) => ({ ...s, materials: s.materials.map((m) => ({ ...m, validTo: [] })) })],
  ])('a sidecar update may not change %s', async (_what, change) => {
    const once = recordImport((await sealedOne()).sidecar, fact);
    expect(await codeOf(() => assertSidecarUpdate(once, change(once)))).toBe('ERR_ESCROW_MISMATCH');
  });

  test('nextEscrowContents: a rotation seals every earlier material plus the new one, as the next version', async () => {
    const a = await newIdentity();
    const v1 = await sealEscrow(contents([material(1, knownMaterial(1))]), { recipients: [{ recipient: a.recipient }] }, testDeps);
    const sidecar = recordImport(v1.sidecar, fact);
    const p1 = await openEscrow({ ...loadedOf(v1), sidecar }, { identities: [a.identity] }, testDeps);
    const added = material(2, knownMaterial(2), { description: 'rotation' });
    const next = nextEscrowContents(p1, { checkValue: added.checkValue, material: added.material, createdAt: added.createdAt }, { created: '2026-05-01T00:00:00Z', createdBy: 'op@host', previousSidecar: sidecar });
    disposePayload(p1);
    const v2 = await sealEscrow(next, { recipients: [{ recipient: a.recipient }] }, testDeps);
    expect(v2.files[0]!.name).toBe('1234abcd-12ab-34cd-56ef-1234567890ab.v2.age');
    const p2 = await openEscrow(loadedOf(v2), { identities: [a.identity] }, testDeps);
    expect(p2.materials.map((m) => [m.index, m.keyMaterialId])).toEqual([
      [1, 'e5'.repeat(32)],
      [2, undefined],
    ]);
    expect(bytesOf(p2.materials[0]!.material)).toEqual(knownMaterial(1));
    expect(bytesOf(p2.materials[1]!.material)).toEqual(knownMaterial(2));
    disposePayload(p2);
  });

  test('inspectEscrow needs no secret and prints none', async () => {
    const a = await newIdentity();
    const sealed = await sealEscrow(contents(twoMaterials()), { recipients: [{ recipient: a.recipient, label: 'alice' }] }, testDeps);
    const text = JSON.stringify(inspectEscrow(sealed.sidecar));
    expect(text).not.toContain(Buffer.from(knownMaterial(1)).toString('base64'));
    expect(text).not.toContain(Buffer.from(knownMaterial(1)).toString('hex'));
    expect(JSON.parse(text)).toMatchObject({ keyId: '1234abcd-12ab-34cd-56ef-1234567890ab', sealing: 'recipients', custodians: [{ label: 'alice', kind: 'x25519' }] });
  });

  test('an opened payload prints no secret', async () => {
    const a = await newIdentity();
    const sealed = await sealEscrow(contents(twoMaterials()), { recipients: [{ recipient: a.recipient }] }, testDeps);
    const p = await openEscrow(loadedOf(sealed), { identities: [a.identity] }, testDeps);
    const text = JSON.stringify(p);
    expect(text).toContain('[redacted]');
    expect(text).not.toContain(Buffer.from(knownMaterial(1)).toString('base64'));
    disposePayload(p);
    expect(p.materials[0]!.material.disposed).toBe(true);
  });
});
