/**
 * The ceremonies the reliability suite drives, each as: a setup (the keys it needs, onboarded with
 * KNOWN material), the argv of the ceremony (the same argv is used for the re-run), and a check of
 * the completed state read from KMS. Each scenario gets its own escrow directory, so the oracle sees
 * only that scenario's keys.
 */
import { writeFileSync } from 'node:fs';
import { DescribeKeyCommand, ListKeysCommand } from '@aws-sdk/client-kms';
import { run, type RunResult, type Workspace } from '../e2e/harness.js';
import { KNOWN_AES, kmsMaterialIds } from './support.js';

export interface Custodian {
  identity: string;
  recipient: string;
  path: string;
}

export interface Prepared {
  escrowDir: string;
  /** The ceremony's argv (run, and re-run unchanged). */
  args: string[];
  /** Keys that existed before the ceremony (setup keys). */
  keyIds: string[];
  /** Secrets the scenario knows up front (more are found by opening the escrows afterwards). */
  known: Uint8Array[];
  /** Completed state, read from KMS (not from the CLI's own report). */
  done(w: Workspace, result: RunResult | undefined): Promise<boolean>;
  /** Re-runs after a failure; default: the same argv. */
  rerun?(w: Workspace, first: RunResult): Promise<RunResult>;
}

export interface Ceremony {
  name: string;
  prepare(w: Workspace, alice: Custodian, tag: string): Promise<Prepared>;
}

let counter = 0;

/** Known material written as hex (the form an operator most likely has), mode 0600. */
export function knownMaterialFile(w: Workspace, material: Uint8Array = KNOWN_AES): string {
  const path = w.path(`known-${++counter}.hex`);
  writeFileSync(path, `${Buffer.from(material).toString('hex')}\n`, { mode: 0o600 });
  return path;
}

export async function onboardInto(w: Workspace, alice: Custodian, escrowDir: string, extra: string[] = []): Promise<{ keyId: string; keyArn: string; escrow: { path: string } }> {
  const r = await run(['onboard', ...w.target, '--yes', '--json', '--recipient', alice.recipient, '--escrow-dir', escrowDir, '--material-file', knownMaterialFile(w), ...extra]);
  if (r.code !== 0) throw new Error(`setup onboard failed: ${r.stderr}`);
  return r.json();
}

async function state(w: Workspace, keyId: string): Promise<{ state: string; validTo?: Date; keyId: string }> {
  const d = await w.kms.send(new DescribeKeyCommand({ KeyId: keyId }));
  return { state: d.KeyMetadata!.KeyState!, keyId: d.KeyMetadata!.KeyId!, ...(d.KeyMetadata!.ValidTo ? { validTo: d.KeyMetadata!.ValidTo } : {}) };
}

export async function allKeyIds(w: Workspace): Promise<string[]> {
  const ids: string[] = [];
  let marker: string | undefined;
  do {
    const r = await w.kms.send(new ListKeysCommand({ ...(marker ? { Marker: marker } : {}) }));
    ids.push(...(r.Keys ?? []).map((k) => k.KeyId!));
    marker = r.Truncated ? r.NextMarker : undefined;
  } while (marker);
  return ids;
}

const escrowFlags = (dir: string, alice: Custodian) => ['--escrow-dir', dir, '--identity', alice.path];

export const CEREMONIES: Ceremony[] = [
  {
    name: 'onboard',
    async prepare(w, alice, tag) {
      const escrowDir = w.path(`escrow-${tag}`);
      const args = ['onboard', ...w.target, '--yes', '--json', '--recipient', alice.recipient, '--escrow-dir', escrowDir, '--no-expiry', '--material-file', knownMaterialFile(w)];
      return {
        escrowDir,
        args,
        keyIds: [],
        known: [KNOWN_AES],
        async done(w2, r) {
          if (!r || r.code !== 0) return false;
          const keyId = r.json<{ keyId: string }>().keyId;
          return (await state(w2, keyId)).state === 'Enabled';
        },
        // An onboard interrupted after its escrow was sealed is finished by `restore KEY` (docs/lifecycle.md);
        // before that, nothing is in KMS but an empty key, and onboarding again is the re-run.
        async rerun(w2, first) {
          const sealed = /material sealed in escrow \S*?([0-9a-f-]{36}|mrk-[0-9a-f]{32})\.v1/.exec(first.stderr);
          if (sealed) {
            const keyId = sealed[1]!;
            const r = await run(['restore', keyId, ...w2.target, ...escrowFlags(escrowDir, alice), '--no-expiry', '--json']);
            // Already imported (the failure came later, e.g. during the proof): the key is complete.
            if (r.code !== 0 && (await state(w2, keyId)).state === 'Enabled') return { ...r, code: 0, json: <T,>() => ({ keyId }) as T };
            return { ...r, json: <T,>() => ({ keyId }) as T };
          }
          return run(args);
        },
      };
    },
  },
  {
    name: 'reimport',
    async prepare(w, alice, tag) {
      const escrowDir = w.path(`escrow-${tag}`);
      const key = await onboardInto(w, alice, escrowDir, ['--expires-in', '10d']);
      const before = (await state(w, key.keyId)).validTo!;
      return {
        escrowDir,
        keyIds: [key.keyId],
        known: [KNOWN_AES],
        args: ['reimport', key.keyId, ...w.target, ...escrowFlags(escrowDir, alice), '--expires-in', '90d', '--json'],
        async done(w2) {
          const s = await state(w2, key.keyId);
          return s.state === 'Enabled' && s.validTo !== undefined && s.validTo.getTime() > before.getTime() + 30 * 86_400_000;
        },
      };
    },
  },
  {
    name: 'restore',
    async prepare(w, alice, tag) {
      const escrowDir = w.path(`escrow-${tag}`);
      const key = await onboardInto(w, alice, escrowDir, ['--no-expiry']);
      const rv = await run(['revoke', key.keyId, ...w.target, ...escrowFlags(escrowDir, alice), '--all', '--yes', '--reason', 'reliability drill']);
      if (rv.code !== 0) throw new Error(`setup revoke failed: ${rv.stderr}`);
      return {
        escrowDir,
        keyIds: [key.keyId],
        known: [KNOWN_AES],
        args: ['restore', key.keyId, ...w.target, ...escrowFlags(escrowDir, alice), '--no-expiry', '--json'],
        done: async (w2) => (await state(w2, key.keyId)).state === 'Enabled',
      };
    },
  },
  {
    name: 'rotate --in-place',
    async prepare(w, alice, tag) {
      const escrowDir = w.path(`escrow-${tag}`);
      const key = await onboardInto(w, alice, escrowDir, ['--no-expiry']);
      return {
        escrowDir,
        keyIds: [key.keyId],
        known: [KNOWN_AES],
        args: ['rotate', key.keyId, '--in-place', '--yes', '--no-expiry', ...w.target, ...escrowFlags(escrowDir, alice), '--json'],
        async done(w2) {
          const s = await state(w2, key.keyId);
          return s.state === 'Enabled' && (await kmsMaterialIds(w2.kms, key.keyId)).length === 2;
        },
      };
    },
  },
  {
    name: 'rotate --new-key',
    async prepare(w, alice, tag) {
      const escrowDir = w.path(`escrow-${tag}`);
      const alias = `alias/rel-rot-${tag}`;
      const key = await onboardInto(w, alice, escrowDir, ['--no-expiry', '--alias', alias]);
      return {
        escrowDir,
        keyIds: [key.keyId],
        known: [KNOWN_AES],
        args: ['rotate', alias, '--new-key', '--yes', '--no-expiry', ...w.target, ...escrowFlags(escrowDir, alice), '--json'],
        async done(w2) {
          const s = await state(w2, alias);
          return s.state === 'Enabled' && s.keyId !== key.keyId && (await state(w2, key.keyId)).state === 'Enabled';
        },
      };
    },
  },
  {
    name: 'restore --new-key',
    async prepare(w, alice, tag) {
      const escrowDir = w.path(`escrow-${tag}`);
      const alias = `alias/rel-dr-${tag}`;
      const key = await onboardInto(w, alice, escrowDir, ['--no-expiry']);
      return {
        escrowDir,
        keyIds: [key.keyId],
        known: [KNOWN_AES],
        args: ['restore', '--new-key', '--yes', '--escrow', key.escrow.path, '--alias', alias, '--no-expiry', ...w.target, '--identity', alice.path, '--json'],
        async done(w2) {
          try {
            const s = await state(w2, alias);
            return s.state === 'Enabled' && s.keyId !== key.keyId;
          } catch {
            return false;
          }
        },
      };
    },
  },
];
