/**
 * The ceremonies the reliability suite drives, each as: a setup (the keys it needs, onboarded with
 * KNOWN material), the argv of the ceremony (the same argv is used for the re-run), and a check of
 * the completed state read from KMS. Each scenario gets its own escrow directory, so the oracle sees
 * only that scenario's keys.
 *
 * Two ceremonies are more than one command: the air-gapped import (`onboard --export-parameters`,
 * the offline `wrap`, `import`: docs/air-gapped.md) runs its commands in turn through `perform`, and
 * its `rerun` continues from whatever the interrupted run left, as docs/air-gapped.md tells an
 * operator to; a fleet run (`reimport --plan` over keys in two Regions: docs/fleet.md) is re-run with
 * `--resume`. The suite files run every ceremony through {@link perform} and {@link rerun}.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { DescribeKeyCommand, ListKeysCommand } from '@aws-sdk/client-kms';
import { parseBundle } from '../../src/airgap/ceremony.js';
import { findLatestVersion, readEscrow } from '../../src/escrow/file-store.js';
import { run, type RunResult, type Workspace } from '../e2e/harness.js';
import {
  KNOWN_AES,
  brokenSidecars,
  countSecretHits,
  emulatorMaterialId,
  escrowedMaterials,
  kmsForKey,
  kmsMaterialIds,
  materialsLost,
  sealedChanges,
  sealedSnapshot,
  badManners,
  type Custodian,
} from './support.js';

export type { Custodian } from './support.js';

/** Runs one CLI command line: in-process (`run`), or a spawned built CLI (crash.test.ts). */
export type Exec = (args: string[]) => Promise<RunResult>;

export interface Prepared {
  escrowDir: string;
  /** The ceremony's argv (run, and re-run unchanged); for a multi-command ceremony, its first command. */
  args: string[];
  /** Keys that existed before the ceremony (setup keys): ids, or ARNs for keys in another Region. */
  keyIds: string[];
  /** Secrets the scenario knows up front (more are found by opening the escrows afterwards). */
  known: Uint8Array[];
  /** Completed state, read from KMS (not from the CLI's own report). */
  done(w: Workspace, result: RunResult | undefined): Promise<boolean>;
  /** Runs the whole ceremony (several commands, stopping at the first that fails); default: `args`. */
  perform?(exec: Exec): Promise<RunResult>;
  /** Re-runs after a failure; default: the same argv. */
  rerun?(w: Workspace, first: RunResult, exec: Exec): Promise<RunResult>;
  /** Attempts one KMS call makes before the ceremony gives up (a fault on "every attempt"): default 3 (the SDK's). */
  attempts?: number;
  /** The same for throttling, where it differs (a fleet's limiter: src/fleet/limiter.ts); default `attempts`. */
  throttledAttempts?: number;
  /** Inject KMS faults only in this Region (a fleet: the keys there fail, the others go on). */
  faultRegion?: string;
  /** What a re-run after a crash prints when it picks the interrupted run up (journalled ceremonies). */
  resumeNote?: RegExp;
  /** The ceremony deliberately leaves its key without material (revoke): no status/verify of it afterwards. */
  revokes?: boolean;
}

export interface Ceremony {
  name: string;
  prepare(w: Workspace, alice: Custodian, tag: string): Promise<Prepared>;
}

/** Runs the ceremony once through `exec` (default: in-process). */
export function perform(p: Prepared, exec: Exec = run): Promise<RunResult> {
  return p.perform ? p.perform(exec) : exec(p.args);
}

/** The re-run after a failed or interrupted first run (default: the same argv, in-process). */
export function rerun(w: Workspace, p: Prepared, first: RunResult, exec: Exec = run): Promise<RunResult> {
  return p.rerun ? p.rerun(w, first, exec) : exec(p.args);
}

/** Several command results as one: the last one's code (and fields), every output concatenated. */
function combined<R extends RunResult>(results: R[]): R {
  const last = results[results.length - 1]!;
  return { ...last, stdout: results.map((r) => r.stdout).join(''), stderr: results.map((r) => r.stderr).join(''), json: last.json };
}

let counter = 0;

/** Known material written as hex (the form an operator most likely has), mode 0600. */
export function knownMaterialFile(w: Workspace, material: Uint8Array = KNOWN_AES): string {
  const path = w.path(`known-${++counter}.hex`);
  writeFileSync(path, `${Buffer.from(material).toString('hex')}\n`, { mode: 0o600 });
  return path;
}

export async function onboardInto(w: Workspace, alice: Custodian, escrowDir: string, extra: string[] = [], region?: string): Promise<{ keyId: string; keyArn: string; escrow: { path: string } }> {
  const target = region ? ['--endpoint-url', w.emu.endpoint, '--region', region] : w.target;
  const r = await run(['onboard', ...target, '--yes', '--json', '--recipient', alice.recipient, '--escrow-dir', escrowDir, '--material-file', knownMaterialFile(w), ...extra]);
  if (r.code !== 0) throw new Error(`setup onboard failed: ${r.stderr}`);
  return r.json();
}

/** A key's state as KMS describes it (`key`: id, alias, or an ARN of any Region). */
async function state(w: Workspace, key: string): Promise<{ state: string; validTo?: Date; keyId: string }> {
  const { client, keyId } = await kmsForKey(w.kms, key);
  const d = await client.send(new DescribeKeyCommand({ KeyId: keyId }));
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

export interface Judged {
  completed: boolean;
  /** The re-run, when the first run did not complete the ceremony. */
  again: RunResult | undefined;
  /** Keys KMS holds material for that no escrow holds (must be none). */
  lost: string[];
  /** Sealed escrow files changed or removed, transcripts not appended to, sidecars that do not parse (must be none). */
  damaged: string[];
  /** Forms of any material found in any output (must be 0). */
  secretsFound: number;
  /** What is wrong with how a failed run reported itself, if anything. */
  manners: string | undefined;
}

/**
 * After a first run under a fault (faults cleared): re-runs when it did not complete, then judges
 * the scenario — completed (by KMS's state), nothing lost (KMS against every escrow), nothing
 * damaged (the escrow directory against its snapshot before the ceremony AND after the first run, so
 * a re-run that overwrote what the first run sealed is caught), no secret in any output.
 */
export async function settle(w: Workspace, alice: Custodian, p: Prepared, before: { keys: Set<string>; sealed: Map<string, string> }, first: RunResult): Promise<Judged> {
  const afterFirst = sealedSnapshot(p.escrowDir);
  let again: RunResult | undefined;
  let completed = first.code === 0 && (await p.done(w, first));
  if (!completed) {
    again = await rerun(w, p, first);
    completed = again.code === 0 && (await p.done(w, again));
  }
  const keys = [...new Set([...p.keyIds, ...(await allKeyIds(w)).filter((k) => !before.keys.has(k))])];
  const lost = await materialsLost(w.kms, keys, p.escrowDir, alice.identity);
  const now = sealedSnapshot(p.escrowDir);
  const damaged = [...new Set([...sealedChanges(before.sealed, now), ...sealedChanges(afterFirst, now), ...brokenSidecars(p.escrowDir)])];
  const secrets = [...p.known, ...[...(await escrowedMaterials(p.escrowDir, alice.identity)).values()].flat()];
  const secretsFound = countSecretHits([first.stdout, first.stderr, again?.stdout ?? '', again?.stderr ?? ''].join('\n'), secrets);
  const manners = [first, ...(again ? [again] : [])].map(badManners).find((m) => m !== undefined);
  return { completed, again, lost, damaged, secretsFound, manners };
}

/** One line on what went wrong in a scenario, for the failure message. */
export function describeFailure(label: string, first: RunResult, j: Judged): string {
  const tail = (r: RunResult | undefined) => r?.stderr.trim().split('\n').slice(-3).join(' | ');
  return `${label}: completed=${j.completed} lost=${j.lost.join(',')} damaged=${j.damaged.join(',')} secrets=${j.secretsFound} manners=${j.manners ?? 'ok'}\n  first(${first.code}): ${tail(first)}\n  rerun(${j.again?.code}): ${tail(j.again)}`;
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
        // The re-run is the same command: the onboard journal (named by the inputs) finishes the same
        // key and escrow (docs/lifecycle.md, "Onboard").
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
  {
    name: 'revoke',
    async prepare(w, alice, tag) {
      const escrowDir = w.path(`escrow-${tag}`);
      const key = await onboardInto(w, alice, escrowDir, ['--no-expiry']);
      return {
        escrowDir,
        keyIds: [key.keyId],
        known: [KNOWN_AES],
        args: ['revoke', key.keyId, ...w.target, ...escrowFlags(escrowDir, alice), '--all', '--yes', '--reason', 'reliability drill', '--json'],
        revokes: true,
        done: async (w2) => (await state(w2, key.keyId)).state === 'PendingImport',
      };
    },
  },
  {
    name: 'restore --new-key --multi-region',
    async prepare(w, alice, tag) {
      const escrowDir = w.path(`escrow-${tag}`);
      const alias = `alias/rel-mr-${tag}`;
      const key = await onboardInto(w, alice, escrowDir, ['--no-expiry']);
      return {
        escrowDir,
        keyIds: [key.keyId],
        known: [KNOWN_AES],
        args: ['restore', '--new-key', '--yes', '--escrow', key.escrow.path, '--alias', alias, '--multi-region', '--replica-region', 'eu-west-1', '--no-expiry', ...w.target, '--identity', alice.path, '--json'],
        async done(w2) {
          try {
            const s = await state(w2, alias);
            return s.state === 'Enabled' && s.keyId !== key.keyId && (await state(w2, `arn:aws:kms:eu-west-1:${(await w2.kms.send(new DescribeKeyCommand({ KeyId: s.keyId }))).KeyMetadata!.AWSAccountId}:key/${s.keyId}`)).state === 'Enabled';
          } catch {
            return false;
          }
        },
      };
    },
  },
  {
    // docs/air-gapped.md: 1. online `onboard --export-parameters`, 2. offline `wrap` (seals the escrow,
    // writes the import bundle), 3. online `import`. A re-run continues from what the interrupted run
    // left, as an operator would: a parameters bundle that is missing or does not parse → step 1 again
    // into a new file (with `--key-id` when the run had created the key: no second key); an import
    // bundle that is missing or does not parse → `wrap` again (the same command, the same material)
    // into a new file; then `import`, and — when KMS answers that the key already holds material (the
    // interrupted import happened) — `import --record-only`, which records it in the escrow sidecar.
    name: 'air-gapped import',
    async prepare(w, alice, tag) {
      const escrowDir = w.path(`escrow-${tag}`);
      const material = knownMaterialFile(w);
      let files = 0;
      const fresh = (kind: string) => w.path(`airgap-${tag}-${kind}-${++files}.json`);
      let parameters = fresh('parameters');
      let bundle = fresh('import');
      const history: string[] = [];
      const step1 = (out: string, keyId?: string) => ['onboard', '--yes', ...w.target, '--export-parameters', out, '--no-expiry', '--json', ...(keyId ? ['--key-id', keyId] : [])];
      const step2 = (params: string, out: string) => ['wrap', '--parameters', params, '--recipient', alice.recipient, '--escrow-dir', escrowDir, '--material-file', material, '--identity', alice.path, '--out', out, '--json'];
      const step3 = (b: string) => ['import', ...w.target, '--bundle', b, '--escrow-dir', escrowDir, '--json'];
      const usable = (path: string, format: string): boolean => {
        try {
          return existsSync(path) && parseBundle(readFileSync(path), path).format === format;
        } catch {
          return false;
        }
      };
      const keyOfBundle = (): string | undefined => (usable(bundle, 'kms-byok-import') ? parseBundle(readFileSync(bundle), bundle).key.keyId : undefined);
      /** Runs the steps still to do, in order, stopping at the first that fails. */
      const proceed = async (exec: Exec, continuing: boolean): Promise<RunResult> => {
        const results: RunResult[] = [];
        const step = async (args: string[]): Promise<boolean> => {
          const r = await exec(args);
          results.push(r);
          history.push(r.stderr);
          return r.code === 0;
        };
        if (!usable(parameters, 'kms-byok-parameters')) {
          const created = continuing ? /✓ created key (\S+)/.exec(history.join('\n'))?.[1] : undefined;
          // The same command again (its journal finishes the same key); a new file only when the
          // interrupted run left a damaged one behind (bundles are create-only).
          if (continuing && existsSync(parameters)) parameters = fresh('parameters');
          if (!(await step(step1(parameters, created)))) return combined(results);
        }
        if (!usable(bundle, 'kms-byok-import')) {
          if (continuing) bundle = fresh('import');
          if (!(await step(step2(parameters, bundle)))) return combined(results);
        }
        if (!(await step(step3(bundle))) && continuing && /ERR_KMS_INVALID_STATE/.test(results.at(-1)!.stderr)) {
          await step([...step3(bundle), '--record-only']);
        }
        return combined(results);
      };
      return {
        escrowDir,
        args: step1(parameters),
        keyIds: [],
        known: [KNOWN_AES],
        perform: (exec) => proceed(exec, false),
        rerun: (_w, _first, exec) => proceed(exec, true),
        async done(w2) {
          // The key of the import bundle holds exactly the escrowed material, and the escrow's sidecar
          // records the KeyMaterialId KMS assigned.
          const keyId = keyOfBundle();
          if (!keyId || (await state(w2, keyId)).state !== 'Enabled') return false;
          const expected = emulatorMaterialId(keyId, KNOWN_AES);
          if ((await kmsMaterialIds(w2.kms, keyId)).join() !== expected) return false;
          const latest = await findLatestVersion(escrowDir, keyId);
          return latest !== undefined && (await readEscrow(latest.sidecarPath)).sidecar.materials[0]?.keyMaterialId === expected;
        },
      };
    },
  },
  {
    // docs/fleet.md: `reimport --plan` over three keys, two in us-east-1 and one in eu-west-1, one key
    // at a time per Region (so a fault on every attempt of a call fails one key, not a share of each).
    // The fleet's limiter makes 8 attempts per call, 16 when throttled (the SDK's own retries are off). Re-run: the same
    // command with `--resume`, which runs only the keys that did not finish.
    name: 'reimport --plan',
    async prepare(w, alice, tag) {
      const escrowDir = w.path(`escrow-${tag}`);
      const regions = ['us-east-1', 'us-east-1', 'eu-west-1'];
      const keys: { keyArn: string; region: string; before: Date }[] = [];
      for (const region of regions) {
        // RSA_2048 wrapping: the emulator unwraps it faster (setup only).
        const k = await onboardInto(w, alice, escrowDir, ['--expires-in', '10d', '--wrapping-key-spec', 'RSA_2048'], region);
        keys.push({ keyArn: k.keyArn, region, before: (await state(w, k.keyArn)).validTo! });
      }
      const plan = w.path(`plan-${tag}.json`);
      writeFileSync(plan, `${JSON.stringify({ version: 1, defaults: { escrowDir, identity: alice.path, expiresIn: '90d' }, keys: keys.map((k) => ({ key: k.keyArn.split('/')[1], region: k.region })) }, null, 2)}\n`);
      // --rate-scale 10: the limiter paces GetParametersForImport at 10/s, not AWS's default 1/s per
      // Region (the emulator here has no quota), so the second key of a Region does not wait a second.
      const args = ['reimport', '--plan', plan, '--endpoint-url', w.emu.endpoint, '--concurrency', '1', '--rate-scale', '10', '--json'];
      return {
        escrowDir,
        args,
        keyIds: keys.map((k) => k.keyArn),
        known: [KNOWN_AES],
        attempts: 8,
        throttledAttempts: 16,
        faultRegion: 'us-east-1',
        resumeNote: /resuming: \d+ key\(s\) finished in an earlier run are skipped/,
        rerun: (_w, _first, exec) => exec([...args, '--resume']),
        async done(w2) {
          for (const k of keys) {
            const s = await state(w2, k.keyArn);
            if (s.state !== 'Enabled' || s.validTo === undefined || s.validTo.getTime() <= k.before.getTime() + 30 * 86_400_000) return false;
          }
          return true;
        },
      };
    },
  },
];
