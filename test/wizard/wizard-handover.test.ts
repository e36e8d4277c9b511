/**
 * The wizard's handed-over shares (docs/custody.md, "Hand-over"), in-process with a scripted prompter
 * against an emulator: for a 2-of-3 escrow, "How will the custodians open the escrow?" offers
 * hand-over first; each file is checked as it is typed (unreadable, sealed to a one-time recipient
 * that is not open here, of another key, the same custodian twice — each refused at the prompt with
 * its reason), its check value — the one the escrow's sidecar recorded, and a file whose own value
 * differs is refused (ERR_CHECK_VALUE_MISMATCH) — is shown, and the reimport runs with `--share`; the one-time identity
 * is consumed. A plain (1-of-n) escrow is not offered hand-over.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handOver } from '../../src/escrow/index.js';
import { readEscrow } from '../../src/escrow/file-store.js';
import { createHandoverIdentity } from '../../src/records/handover-identity.js';
import { run, workspace, type Workspace } from '../e2e/harness.js';
import { custodian } from '../e2e/identities.js';
import { runScripted } from './helpers.js';
import { CANCEL } from './scripted.js';

let ws: Workspace;
const people = ['alice', 'bob', 'carol'] as const;
const ids = {} as Record<(typeof people)[number], { identity: string; recipient: string; path: string }>;
const keys: Record<'split' | 'other', string> = { split: '', other: '' };

async function onboardSplit(alias: string, dir: string): Promise<string> {
  const r = await run(['onboard', '--yes', ...ws.target, '--alias', alias, ...people.flatMap((n) => ['--recipient', `${n}=${ids[n].recipient}`]), '--threshold', '2', '--expires-in', '30d', '--escrow-dir', dir, '--json'], { cwd: ws.dir });
  expect(r.code, r.stderr).toBe(0);
  return r.json<{ keyId: string }>().keyId;
}

/** `who` hands over their share of `keyId` (escrow in `dir`) to `to`, written to the host's `name`. */
async function handedOver(who: (typeof people)[number], keyId: string, dir: string, to: string, name: string): Promise<string> {
  const h = await handOver(await readEscrow(ws.path(`${dir}/${keyId}.v1.age`), { found: true }), [ids[who].identity], to, '2026-12-04T00:00:00Z');
  writeFileSync(ws.path(name), h.bytes, { mode: 0o600 });
  return name;
}

beforeAll(async () => {
  ws = await workspace();
  for (const n of people) ids[n] = await custodian(ws.path(`${n}.txt`));
  keys.split = await onboardSplit('alias/wiz-split', 'escrow');
  keys.other = await onboardSplit('alias/wiz-other', 'escrow-other');
});
afterAll(async () => ws?.close());

describe('wizard: handed-over shares', () => {
  it('reimport of a 2-of-3 key: hand-over offered first, each file checked at the prompt, check values shown, --share passed; the one-time identity is consumed', async () => {
    const to = (await createHandoverIdentity(ws.path('escrow'))).recipient;
    const alice = await handedOver('alice', keys.split, 'escrow', to, 'alice.handover');
    const carol = await handedOver('carol', keys.split, 'escrow', to, 'carol.handover');
    const stale = await handedOver('bob', keys.split, 'escrow', 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p', 'bob-elsewhere.handover');
    const foreign = await handedOver('bob', keys.other, 'escrow-other', to, 'bob-other.handover');
    const r = await runScripted(
      ws.target,
      [
        ['flow', 'reimport'],
        ['key', 'alias/wiz-split'],
        ['expiry', 'in'],
        ['expiresIn', '60d'],
        ['escrowDir', 'escrow'],
        ['opener', ''], // the default: hand-over
        ['shareFile', 'missing.handover'],
        ['shareFile', stale],
        ['shareFile', foreign],
        ['shareFile', alice],
        ['shareFile', alice],
        ['shareFile', carol],
        ['confirm', true],
      ],
      { cwd: ws.dir },
    );
    expect(r.code, r.stderr).toBe(0);
    r.prompter.assertDone();
    expect(r.prompter.refused.map((x) => x.reason)).toEqual([
      expect.stringContaining('cannot read missing.handover'),
      expect.stringContaining('which is not an open one-time recipient of escrow'),
      expect.stringContaining(`not of ${keys.split} v1`),
      expect.stringContaining('share 1 (alice) was given already'),
    ]);
    const said = r.prompter.said.join('\n');
    expect(said).toContain('held by alice, bob, carol: any 2 of the 3 are needed');
    expect(said).toMatch(/share 1 from alice: check value sha256-kcv:[0-9A-F]{6}/);
    expect(said).toMatch(/share 3 from carol: check value sha256-kcv:[0-9A-F]{6}/);
    expect(said.replace(/ \\\n\s+/g, ' ')).toContain(`--share ${alice} --share ${carol}`);
    expect(r.stderr).toContain('hand-over files cannot be used again');
    // Consumed: the same files no longer pass the question.
    const again = await runScripted(
      ws.target,
      [['flow', 'reimport'], ['key', 'alias/wiz-split'], ['expiry', 'in'], ['expiresIn', '60d'], ['escrowDir', 'escrow'], ['opener', 'share'], ['shareFile', alice], ['shareFile', CANCEL]],
      { cwd: ws.dir },
    );
    expect(again.code).toBe(130);
    expect(again.prompter.refused.map((x) => x.reason)).toEqual([expect.stringContaining('not an open one-time recipient')]);
  });

  it("a hand-over file whose own check value differs from the sidecar's is refused at the prompt; the sidecar's value is shown", async () => {
    const to = (await createHandoverIdentity(ws.path('escrow'))).recipient;
    const sidecar = JSON.parse(readFileSync(ws.path(`escrow/${keys.split}.v1.age.json`), 'utf8')) as { files: { role: string; index?: number; checkValue?: string }[] };
    const recorded = (i: number) => sidecar.files.find((f) => f.role === 'share' && f.index === i)!.checkValue!;
    expect(recorded(1)).toMatch(/^sha256-kcv:[0-9A-F]{6}$/);
    const bob = await handedOver('bob', keys.split, 'escrow', to, 'bob-relabelled.handover');
    // The outer claim is plain JSON: rewritten to say something the sidecar did not record.
    const doc = JSON.parse(readFileSync(ws.path(bob), 'utf8')) as { checkValues: string[] };
    const forged = recorded(2).endsWith('0') ? recorded(2).slice(0, -1) + '1' : recorded(2).slice(0, -1) + '0';
    writeFileSync(ws.path(bob), JSON.stringify({ ...doc, checkValues: [forged] }), { mode: 0o600 });
    const alice = await handedOver('alice', keys.split, 'escrow', to, 'alice-2.handover');
    const r = await runScripted(
      ws.target,
      [['flow', 'reimport'], ['key', 'alias/wiz-split'], ['expiry', 'in'], ['expiresIn', '60d'], ['escrowDir', 'escrow'], ['opener', ''], ['shareFile', bob], ['shareFile', alice], ['shareFile', CANCEL]],
      { cwd: ws.dir },
    );
    expect(r.code).toBe(130);
    r.prompter.assertDone();
    expect(r.prompter.refused.map((x) => x.reason)).toEqual([
      `${bob}: share 2 (bob) has check value ${forged}, but the escrow's sidecar recorded ${recorded(2)} when it was sealed (ERR_CHECK_VALUE_MISMATCH): do not use it; ask bob to hand over again`,
    ]);
    expect(r.prompter.said.join('\n')).toContain(`share 1 from alice: check value ${recorded(1)} (recorded in the escrow's sidecar; compare with what alice reads aloud)`);
  });

  it('a plain escrow (any one custodian) is not offered hand-over', async () => {
    const r = await run(['onboard', '--yes', ...ws.target, '--alias', 'alias/wiz-plain', '--recipient', `alice=${ids.alice.recipient}`, '--expires-in', '30d', '--escrow-dir', 'escrow-plain'], { cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    const w = await runScripted(ws.target, [['flow', 'reimport'], ['key', 'alias/wiz-plain'], ['expiry', 'in'], ['expiresIn', '60d'], ['escrowDir', 'escrow-plain'], ['opener', 'share']], { cwd: ws.dir });
    expect(w.stderr).toContain('"share" is not one of identity'); // nor a passphrase file: it was sealed without one
  });
});
