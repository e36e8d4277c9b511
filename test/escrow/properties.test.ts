/**
 * Properties of the escrow, run small by default and large with SLOW=1 (see helpers.RUNS).
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { SecretBytes } from '../../src/core/secret.js';
import type { ShareDocument } from '../../src/escrow/format.js';
import { generateIdentity, recipientOfIdentity } from '../../src/escrow/seal.js';
import { combineShares, makeShareDocuments, recoverPayloadIdentity, splitSecret, subsets, xorCombine, xorSplit } from '../../src/escrow/modes.js';
import { disposePayload, openEscrow, sealEscrow } from '../../src/escrow/vault.js';
import { KEY_ID, RUNS, bytesOf, codeOf, contents, material, newIdentity, testDeps } from './helpers.js';

/** A small pool of custodian identities, made once (key generation is not what is under test). */
const pool = Promise.all([newIdentity(), newIdentity(), newIdentity(), newIdentity(), newIdentity('pq'), newIdentity('pq')]);

const materialBytes = fc.uint8Array({ minLength: 1, maxLength: 96 });

describe('seal → open', () => {
  test.prop(
    [
      fc.array(materialBytes, { minLength: 1, maxLength: 3 }),
      fc.boolean(),
      fc.uniqueArray(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 4 }),
      fc.nat(),
    ],
    { numRuns: RUNS },
  )('any listed custodian gets back exactly the materials sealed', async (mats, pq, picks, opener) => {
    const ids = await pool;
    // All-classic or all-post-quantum recipients (mixing is refused for one file).
    const custodians = pq ? [ids[4]!, ids[5]!].slice(0, Math.min(2, picks.length)) : picks.map((i) => ids[i]!);
    const sealed = await sealEscrow(
      contents(mats.map((m, i) => material(i + 1, m))),
      { recipients: custodians.map((c, i) => ({ recipient: c.recipient, label: `custodian ${i}` })) },
      testDeps,
    );
    const who = custodians[opener % custodians.length]!;
    const p = await openEscrow({ sidecar: sealed.sidecar, files: sealed.files }, { identities: [who.identity] }, testDeps);
    expect(p.materials.map((m) => bytesOf(m.material))).toEqual(mats);
    expect(p.manifest.custodians.recipients.map((r) => r.recipient)).toEqual(custodians.map((c) => c.recipient));
    disposePayload(p);
  });

  test.prop([materialBytes, fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !/[\ud800-\udfff]/.test(s))], { numRuns: Math.max(4, Math.ceil(RUNS / 10)) })(
    'a passphrase escrow opens with that passphrase and no other',
    async (m, passphrase) => {
      const pw = () => SecretBytes.adopt(new TextEncoder().encode(passphrase));
      const sealed = await sealEscrow(contents([material(1, m)]), { recipients: [], passphrase: pw() }, testDeps);
      const p = await openEscrow({ sidecar: sealed.sidecar, files: sealed.files }, { passphrase: pw() }, testDeps);
      expect(bytesOf(p.materials[0]!.material)).toEqual(m);
      disposePayload(p);
      const wrong = SecretBytes.adopt(new TextEncoder().encode(`${passphrase}x`));
      expect(await codeOf(() => openEscrow({ sidecar: sealed.sidecar, files: sealed.files }, { passphrase: wrong }, testDeps))).toBe('ERR_ESCROW_DECRYPT');
    },
  );

  test.prop([fc.integer({ min: 2, max: 4 }), fc.nat(), materialBytes], { numRuns: Math.max(4, Math.ceil(RUNS / 10)) })(
    'an m-of-n escrow opens with any m custodians and not with fewer',
    async (n, t, m) => {
      const ids = (await pool).slice(0, n);
      const threshold = 2 + (t % (n - 1));
      const sealed = await sealEscrow(contents([material(1, m)]), { recipients: ids.map((i) => ({ recipient: i.recipient })), threshold }, testDeps);
      const loaded = { sidecar: sealed.sidecar, files: sealed.files };
      for (let k = 1; k <= n; k++) {
        for (const group of subsets(ids, k)) {
          const r = await openEscrow(loaded, { identities: group.map((g) => g.identity) }, testDeps).then(
            (p) => {
              const ok = Buffer.from(bytesOf(p.materials[0]!.material)).equals(Buffer.from(m));
              disposePayload(p);
              return ok ? 'opened' : 'wrong material';
            },
            (e: { code?: string }) => e.code,
          );
          expect(r).toBe(k >= threshold ? 'opened' : 'ERR_ESCROW_TOO_FEW_SHARES');
        }
      }
    },
  );
});

describe('Shamir split → combine', () => {
  const nm = fc.integer({ min: 2, max: 5 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 2, max: n })));

  test.prop([nm, fc.uint8Array({ minLength: 16, maxLength: 80 })], { numRuns: RUNS })(
    'every M-subset of N shares rebuilds the secret; every smaller subset does not',
    async ([n, m], secretBytes) => {
      const secret = SecretBytes.copyOf(secretBytes);
      const shares = await splitSecret(secret, n, m);
      for (let k = 1; k <= n; k++) {
        for (const subset of subsets(shares, k)) {
          if (k === 1) {
            expect(await codeOf(() => combineShares(subset))).toBe('ERR_ESCROW_TOO_FEW_SHARES');
            continue;
          }
          const rebuilt = await combineShares(subset);
          // Fewer than M shares give an unrelated value (equal only with probability 2^-128 or less).
          expect(rebuilt.equals(secret)).toBe(k >= m);
          rebuilt.dispose();
        }
      }
      expect(await codeOf(() => combineShares([shares[0]!, shares[0]!]))).toBe('ERR_ESCROW_DUPLICATE_SHARE');
    },
  );

  test.prop([nm, fc.boolean()], { numRuns: RUNS })(
    'share documents: every M-subset rebuilds the verified identity, every smaller one says how many are missing',
    async ([n, m], pq) => {
      const identity = await generateIdentity(pq ? 'pq-hybrid' : 'x25519');
      const payloadRecipient = await recipientOfIdentity(identity.use((b) => new TextDecoder().decode(b)));
      const holders = (await pool).slice(0, n).map((h) => ({ recipient: h.recipient }));
      const context = { escrowId: 'ab'.repeat(16), keyId: KEY_ID, keyArn: `arn:aws:kms:eu-west-1:111122223333:key/${KEY_ID}`, escrowVersion: 1, payloadFile: `${KEY_ID}.v1.age`, payloadRecipient, threshold: m };
      const docs = await makeShareDocuments(identity, holders, context);
      for (let k = 0; k <= n; k++) {
        for (const subset of subsets<ShareDocument>(docs, k)) {
          const outcome = await recoverPayloadIdentity(subset, { ...context, shares: n }).then(
            (got) => {
              const same = got.equals(identity);
              got.dispose();
              return same ? 'rebuilt' : 'wrong identity';
            },
            (e: { code?: string; message?: string }) => `${e.code}: ${e.message}`,
          );
          expect(outcome).toBe(k >= m ? 'rebuilt' : `ERR_ESCROW_TOO_FEW_SHARES: ${m} of ${n} shares are needed, ${k} given: ${m - k} more needed`);
        }
      }
      identity.dispose();
    },
  );
});

describe('XOR split → combine', () => {
  test.prop([fc.integer({ min: 2, max: 5 }), fc.uint8Array({ minLength: 16, maxLength: 80 })], { numRuns: RUNS })(
    'all N components rebuild the material; any N-1 do not; each component is full length',
    (n, m) => {
      const material = SecretBytes.copyOf(m);
      const parts = xorSplit(material, n);
      expect(parts.every((p) => p.length === m.length)).toBe(true);
      expect(xorCombine(parts).equals(material)).toBe(true);
      for (const subset of subsets(parts, n - 1)) {
        if (subset.length >= 2) expect(xorCombine(subset).equals(material)).toBe(false);
        else expect(subset[0]!.equals(material)).toBe(false);
      }
    },
  );
});
