import { describe, expect, test } from 'vitest';
import {
  escrowStem,
  parseEscrowFileName,
  parsePayload,
  parseShare,
  parseSidecar,
  sealedFileName,
  serializePayload,
  sidecarFileName,
  sidecarToJson,
} from '../../src/escrow/format.js';
import { sealEscrow } from '../../src/escrow/vault.js';
import { KEY_ID, bytesOf, codeOf, contents, knownMaterial, material, newIdentity, testDeps } from './helpers.js';

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

describe('file naming', () => {
  test('names of one escrow version share the stem <keyId>.v<N>', () => {
    expect(sealedFileName(KEY_ID, 1, 'main')).toBe(`${KEY_ID}.v1.age`);
    expect(sealedFileName(KEY_ID, 12, 'passphrase-copy')).toBe(`${KEY_ID}.v12.passphrase.age`);
    expect(sealedFileName(KEY_ID, 2, 'share', 3)).toBe(`${KEY_ID}.v2.share-3.age`);
    expect(sealedFileName(KEY_ID, 2, 'component', 1)).toBe(`${KEY_ID}.v2.component-1.age`);
    expect(sidecarFileName(KEY_ID, 2)).toBe(`${KEY_ID}.v2.age.json`);
    expect(sidecarFileName('mrk-1234abcd12ab34cd56ef1234567890ab', 1)).toBe('mrk-1234abcd12ab34cd56ef1234567890ab.v1.age.json');
  });

  test('every file name leads back to its sidecar', () => {
    for (const name of [`${KEY_ID}.v7.age`, `${KEY_ID}.v7.passphrase.age`, `${KEY_ID}.v7.share-2.age`, `${KEY_ID}.v7.component-9.age`, `${KEY_ID}.v7.age.json`]) {
      expect(parseEscrowFileName(name)).toMatchObject({ keyId: KEY_ID, escrowVersion: 7, sidecarName: `${KEY_ID}.v7.age.json` });
    }
    for (const name of [`${KEY_ID}.v0.age`, `${KEY_ID}.v1.age.bak`, `x${KEY_ID}.v1.age`, `${KEY_ID}.v1.share-1.age.json`, `../${KEY_ID}.v1.age`, `${KEY_ID.toUpperCase()}.v1.age`]) {
      expect(parseEscrowFileName(name)).toBeUndefined();
    }
  });

  test('a key id that is not a KMS key id cannot become a file name', async () => {
    for (const bad of ['../etc', 'alias/prod', `arn:aws:kms:eu-west-1:111122223333:key/${KEY_ID}`, '']) {
      expect(await codeOf(() => escrowStem(bad, 1))).toBe('ERR_INVALID_ARGUMENT');
    }
    expect(await codeOf(() => escrowStem(KEY_ID, 0))).toBe('ERR_INVALID_ARGUMENT');
  });
});

describe('strict parsing', () => {
  async function sealedPair() {
    const a = await newIdentity();
    const ms = [material(1, knownMaterial(1), { keyMaterialId: 'ab'.repeat(32), description: 'first' })];
    const sealed = await sealEscrow(contents(ms), { recipients: [{ recipient: a.recipient, label: 'alice' }] }, testDeps);
    return { sealed, payloadJson: JSON.parse(new TextDecoder().decode(serializePayload({ manifest: sealed.manifest, materials: ms }))) as Record<string, unknown> };
  }

  test('a payload round-trips through its JSON', async () => {
    const { sealed, payloadJson } = await sealedPair();
    const p = parsePayload(enc(payloadJson));
    expect(p.manifest).toEqual(sealed.manifest);
    expect(bytesOf(p.materials[0]!.material)).toEqual(knownMaterial(1));
    expect(p.materials[0]).toMatchObject({ index: 1, keyMaterialId: 'ab'.repeat(32), description: 'first', createdAt: '2026-01-02T03:04:05Z' });
  });

  test.each<[string, (p: Record<string, any>) => void, string]>([
    ['an unknown top-level field', (p) => (p.note = 'x'), 'ERR_ESCROW_FORMAT'],
    ['an unknown manifest field', (p) => (p.manifest.colour = 'blue'), 'ERR_ESCROW_FORMAT'],
    ['a missing manifest field', (p) => delete p.manifest.region, 'ERR_ESCROW_FORMAT'],
    ['an unknown key spec', (p) => (p.manifest.keySpec = 'AES_512'), 'ERR_ESCROW_FORMAT'],
    ['a local time without Z', (p) => (p.manifest.created = '2026-01-02T03:04:05+01:00'), 'ERR_ESCROW_FORMAT'],
    ['material in non-strict base64', (p) => (p.materials[0].material = 'AAEC AwQ='), 'ERR_ESCROW_FORMAT'],
    ['empty material', (p) => (p.materials[0].material = ''), 'ERR_ESCROW_FORMAT'],
    ['materials out of order', (p) => (p.materials[0].index = 2), 'ERR_ESCROW_FORMAT'],
    ['no materials', (p) => (p.materials = []), 'ERR_ESCROW_FORMAT'],
    ['an unlabelled check value', (p) => (p.materials[0].checkValue = '1A2B3C'), 'ERR_ESCROW_FORMAT'],
    ['a KeyMaterialId in upper case', (p) => (p.materials[0].keyMaterialId = 'AB'.repeat(32)), 'ERR_ESCROW_FORMAT'],
    ['another document type', (p) => (p.format = 'kms-byok-escrow-share'), 'ERR_ESCROW_FORMAT'],
    ['format version 2', (p) => (p.version = 2), 'ERR_ESCROW_VERSION'],
    ['format version "1"', (p) => (p.version = '1'), 'ERR_ESCROW_VERSION'],
    ['manifest formatVersion 2', (p) => (p.manifest.formatVersion = 2), 'ERR_ESCROW_FORMAT'],
    ['a custodian listed twice', (p) => p.manifest.custodians.recipients.push({ ...p.manifest.custodians.recipients[0] }), 'ERR_ESCROW_FORMAT'],
    ['a threshold without its payload recipient', (p) => (p.manifest.custodians.threshold = 2), 'ERR_ESCROW_FORMAT'],
    ['an XOR split of one custodian', (p) => (p.manifest.custodians.split = 'xor'), 'ERR_ESCROW_FORMAT'],
    ['an unknown recipient kind', (p) => (p.manifest.custodians.recipients[0].kind = 'rsa'), 'ERR_ESCROW_FORMAT'],
    ['a label with a newline', (p) => (p.manifest.custodians.recipients[0].label = 'alice\nbob'), 'ERR_ESCROW_FORMAT'],
  ])('refuses %s', async (_what, change, code) => {
    const { payloadJson } = await sealedPair();
    change(payloadJson);
    expect(await codeOf(() => parsePayload(enc(payloadJson)))).toBe(code);
  });

  test('refuses bytes that are not UTF-8 JSON', async () => {
    expect(await codeOf(() => parsePayload(new Uint8Array([0xff, 0xfe])))).toBe('ERR_ESCROW_FORMAT');
    expect(await codeOf(() => parsePayload(new TextEncoder().encode('{"format":')))).toBe('ERR_ESCROW_FORMAT');
  });

  test('a sidecar round-trips, and refuses a file name outside its escrow version (no path tricks)', async () => {
    const { sealed } = await sealedPair();
    const json = sidecarToJson(sealed.sidecar) as { files: { name: string }[] };
    expect(parseSidecar(JSON.parse(JSON.stringify(json)))).toEqual(sealed.sidecar);
    for (const name of ['../../etc/passwd', `${KEY_ID}.v2.age`, `/tmp/${KEY_ID}.v1.age`, `${KEY_ID}.v1.age.json`]) {
      const bad = JSON.parse(JSON.stringify(json)) as typeof json;
      bad.files[0]!.name = name;
      expect(await codeOf(() => parseSidecar(bad))).toBe('ERR_ESCROW_FORMAT');
    }
  });

  test('a sidecar of another format version is refused naming the version this build reads', async () => {
    const { sealed } = await sealedPair();
    // Version 3 (renewal seals) is read since renewal seals exist; 4 is the next unknown one.
    const json = { ...sidecarToJson(sealed.sidecar), version: 4 };
    expect(() => parseSidecar(json)).toThrow('escrow sidecar: format version 4 is not supported: this build reads version 1, 2 and 3');
  });

  test('a share document with a share too short to hold a secret is refused', async () => {
    const doc = {
      format: 'kms-byok-escrow-share',
      version: 1,
      escrowId: 'ab'.repeat(16),
      keyId: KEY_ID,
      keyArn: `arn:aws:kms:eu-west-1:111122223333:key/${KEY_ID}`,
      escrowVersion: 1,
      payloadFile: `${KEY_ID}.v1.age`,
      payloadRecipient: 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p',
      threshold: 2,
      shares: 3,
      shareIndex: 1,
      holder: { recipient: 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p' },
      share: 'AA==',
    };
    expect(await codeOf(() => parseShare(enc(doc)))).toBe('ERR_ESCROW_FORMAT');
    expect(await codeOf(() => parseShare(enc({ ...doc, share: 'AAEC' })))).toBe('did not throw');
    expect(await codeOf(() => parseShare(enc({ ...doc, shareIndex: 4 })))).toBe('ERR_ESCROW_FORMAT');
  });
});
