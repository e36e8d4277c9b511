/**
 * "KMS acted, the answer was lost" (docs/reliability.md): for every mutating KMS call of every ceremony,
 * the emulator carries the request out and then drops the connection without answering — once (the
 * ceremony must find out from KMS and finish in the same run) and on every send (the ceremony fails;
 * the documented recovery — the same command again, `--resume` for a fleet — must finish it).
 *
 * Then the END STATE is judged from KMS, not from exit codes: the ceremony's effect is there (`done`),
 * every key the scenario touched is Enabled (or deliberately revoked), `kms-byok status` of those keys
 * exits 0, `kms-byok verify` proves each one, KMS holds exactly as many new keys as the ceremony makes
 * (no orphan, no second key), no material is in KMS without an escrow, no sealed file changed, and no
 * output holds a secret.
 *
 * Default tier: every mutating call × "dropped on every send". KMS_BYOK_SLOW=1 adds "dropped once".
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { DescribeKeyCommand } from '@aws-sdk/client-kms';
import { run } from '../e2e/harness.js';
import { CEREMONIES, allKeyIds, describeFailure, perform, settle, type Prepared } from './ceremonies.js';
import { SLOW, reliabilityWorkspace, sealedSnapshot } from './support.js';
import type { Workspace } from '../e2e/harness.js';

/** Every KMS call kms-byok makes that changes something. */
const MUTATING = new Set(['CreateKey', 'CreateAlias', 'UpdateAlias', 'PutKeyPolicy', 'ImportKeyMaterial', 'RotateKeyOnDemand', 'ReplicateKey', 'DeleteImportedKeyMaterial', 'TagResource']);

/** New keys each ceremony makes (a multi-Region key and its replicas share one key id). */
const NEW_KEYS: Record<string, number> = { onboard: 1, 'rotate --new-key': 1, 'restore --new-key': 1, 'restore --new-key --multi-region': 1, 'air-gapped import': 1 };

const R = reliabilityWorkspace('lost-answers');

async function baseline(index: number): Promise<string[]> {
  const { ws, alice } = R;
  const p = await CEREMONIES[index]!.prepare(ws, alice, R.tag('base-'));
  const from = ws.emu.requests.length;
  const r = await perform(p);
  expect(r.code, r.stderr).toBe(0);
  expect(await p.done(ws, r)).toBe(true);
  return [...new Set(ws.emu.requests.slice(from).map((q) => q.operation))].filter((op) => MUTATING.has(op));
}

/** The keys a scenario ends with: its setup keys and the keys KMS gained, as ARNs of their Regions. */
async function scenarioKeys(ws: Workspace, p: Prepared, before: Set<string>): Promise<{ setup: string[]; created: string[] }> {
  const created = (await allKeyIds(ws)).filter((k) => !before.has(k));
  return { setup: p.keyIds, created };
}

/** What is wrong with the end state, or undefined. */
async function judgeEndState(ws: Workspace, name: string, p: Prepared, keys: { setup: string[]; created: string[] }): Promise<string | undefined> {
  const expected = NEW_KEYS[name] ?? 0;
  if (keys.created.length !== expected) return `KMS gained ${keys.created.length} key(s), the ceremony makes ${expected}: ${keys.created.join(', ')}`;
  if (p.revokes) return undefined;
  const { alice } = R;
  for (const key of [...keys.setup, ...keys.created]) {
    const keyId = key.split('/').pop()!;
    const region = key.startsWith('arn:') ? key.split(':')[3]! : 'us-east-1';
    const target = ['--endpoint-url', ws.emu.endpoint, '--region', region];
    const d = await ws.kms.send(new DescribeKeyCommand({ KeyId: key })).catch(() => undefined);
    // Keys in other Regions are described through their ARN by status/verify below.
    if (d && d.KeyMetadata?.KeyState !== 'Enabled') return `key ${keyId} is ${d.KeyMetadata?.KeyState}, not Enabled`;
    const st = await run(['status', keyId, ...target, '--escrow-dir', p.escrowDir, '--json']);
    if (st.code !== 0) return `status ${keyId} exited ${st.code}: ${st.stderr.trim().split('\n').slice(-2).join(' | ')}`;
    const v = await run(['verify', keyId, ...target, '--escrow-dir', p.escrowDir, '--identity', alice.path]);
    if (v.code !== 0) return `verify ${keyId} exited ${v.code}: ${v.stderr.trim().split('\n').slice(-2).join(' | ')}`;
  }
  return undefined;
}

describe.each(CEREMONIES.map((c, i) => [c.name, i] as const))('%s: KMS acted, the answer was lost', (name, index) => {
  let ops: string[] = [];
  beforeAll(async () => {
    ops = await baseline(index);
  }, 120_000);

  it('every mutating call: finished in the run or by the documented re-run; the end state is whole', async () => {
    const { ws, alice, summary } = R;
    expect(ops.length).toBeGreaterThan(0);
    const failures: string[] = [];
    const modes = SLOW ? (['every send', 'once'] as const) : (['every send'] as const);
    for (const op of ops) {
      for (const mode of modes) {
        const p = await CEREMONIES[index]!.prepare(ws, alice, R.tag('l'));
        const before = { keys: new Set(await allKeyIds(ws)), sealed: sealedSnapshot(p.escrowDir) };
        ws.emu.faults.clear();
        ws.emu.faults.add({ operation: op, kind: 'drop-after', times: mode === 'once' ? 1 : 1_000, ...(p.faultRegion ? { region: p.faultRegion } : {}) });
        const first = await perform(p);
        const fired = ws.emu.faults.list()[0]?.fired ?? 0;
        ws.emu.faults.clear();
        const j = await settle(ws, alice, p, before, first);
        const end = j.completed ? await judgeEndState(ws, name, p, await scenarioKeys(ws, p, before.keys)) : 'not completed';
        summary.scenario({ ceremony: name, fault: `answer lost (${mode}): ${op}`, completed: j.completed && end === undefined, rerun: j.again !== undefined, materialsLost: j.lost.length, escrowFilesDamaged: j.damaged.length, secretsFound: j.secretsFound });
        const label = `${op} (${mode})`;
        if (fired === 0) failures.push(`${label}: the fault never fired`);
        if (!j.completed || j.lost.length || j.damaged.length || j.secretsFound || j.manners || end) failures.push(`${describeFailure(label, first, j)}\n  end state: ${end ?? 'ok'}`);
        // Said only what is known: no message may claim nothing changed after a lost answer.
        if (/nothing was changed/i.test(first.stderr)) failures.push(`${label}: the first run claimed "nothing was changed" after KMS acted`);
      }
    }
    expect(failures, failures.join('\n')).toEqual([]);
  }, SLOW ? 1_800_000 : 600_000);
});
