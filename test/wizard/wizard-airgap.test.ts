/**
 * The air-gapped ceremony through the wizard: the three steps, each driven by a scripted prompter,
 * in-process against a started emulator (the offline guarantee of step 2 is tested on the built CLI
 * in test/e2e/airgap.test.ts). Bundles are re-asked until they parse, and fingerprints are compared.
 */
import { DescribeKeyCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspace, type Workspace } from '../e2e/harness.js';
import { custodian } from '../e2e/identities.js';
import { runScripted } from './helpers.js';
import { CANCEL } from './scripted.js';

let ws: Workspace;
let alice: { recipient: string };
beforeAll(async () => {
  ws = await workspace();
  alice = await custodian(ws.path('alice.txt'));
});
afterAll(async () => ws?.close());

describe('wizard: air-gapped ceremony, three steps', () => {
  let sha1: string;

  it('step 1: creates the key, writes the parameters bundle, shows its fingerprint and the command line', async () => {
    const r = await runScripted(ws.target, [
      ['flow', 'export'],
      ['keySpec', ''],
      ['wrapping', ''],
      ['alias', 'alias/wz-air'],
      ['description', ''],
      ['expiry', ''],
      ['expiresIn', '30d'],
      ['parametersFile', ''],
      ['confirm', true],
    ], { cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    r.prompter.assertDone();
    expect(r.prompter.said.join('\n')).toContain('in PendingImport: unusable until step 3 imports its material');
    expect(r.stdout).toContain('Step 1 complete');
    expect(r.stdout).toContain('--export-parameters params.json');
    sha1 = /must show the same:\n\s+([0-9A-F ]{39})/.exec(r.stdout)![1]!;
    expect(sha1).toMatch(/^([0-9A-F]{4} ){7}[0-9A-F]{4}$/);
  });

  it('step 2: re-asks until a parameters bundle parses, shows the same fingerprint, seals and wraps', async () => {
    const r = await runScripted([], [
      ['flow', 'wrap'],
      ['parametersFile', 'missing.json'],
      ['parametersFile', 'params.json'],
      ['fingerprintMatches', true],
      ['material', ''],
      ['sealing', ''],
      ['recipient', alice.recipient],
      ['moreRecipients', false],
      ['escrowDir', ''],
      ['importFile', 'params.json'],
      ['importFile', ''],
      ['confirm', true],
    ], { cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    r.prompter.assertDone();
    expect(r.prompter.refused.map((x) => x.reason)).toEqual([expect.stringContaining('cannot read missing.json'), expect.stringContaining('params.json already exists')]);
    expect(r.prompter.said.join('\n')).toContain(sha1);
    expect(r.stdout).toContain('Step 2 complete');
    expect(r.stdout).toMatch(/│ {2}[0-9A-F] [0-9A-F] [0-9A-F] {3}[0-9A-F] [0-9A-F] [0-9A-F] {2}│ {2}cmac-aes/);
    expect(r.stdout).toContain(`kms-byok wrap --parameters params.json --recipient ${alice.recipient}`);
  });

  it('step 3: refuses a parameters bundle as the import bundle, imports, verifies, records the sidecar', async () => {
    const r = await runScripted(ws.target, [
      ['flow', 'import'],
      ['importFile', 'params.json'],
      ['importFile', 'import.json'],
      ['fingerprintMatches', true],
      ['escrowDir', ''],
      ['confirm', true],
    ], { cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
    r.prompter.assertDone();
    expect(r.prompter.refused[0]!.reason).toContain('is a parameters bundle (step 1)');
    expect(r.stdout).toContain('Step 3 complete');
    expect(r.stdout).toMatch(/sidecar\s+\S+\.json/);
    const d = await ws.kms.send(new DescribeKeyCommand({ KeyId: 'alias/wz-air' }));
    expect(d.KeyMetadata?.KeyState).toBe('Enabled');
  });

  it('a fingerprint the operator does not confirm stops the step: nothing sealed or imported', async () => {
    const r = await runScripted([], [['flow', 'wrap'], ['parametersFile', 'params.json'], ['fingerprintMatches', false]], { cwd: ws.dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ERR_BUNDLE_TAMPERED');
    expect(r.stderr).toContain('nothing was created');
  });
});

describe('wizard: cancelling a later air-gapped step says how to resume', () => {
  it('Escape at step 3: exit 130, the hint names the key of step 1 and how to resume', async () => {
    const r = await runScripted(ws.target, [['flow', 'import'], ['importFile', CANCEL]], { cwd: ws.dir });
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('hint: nothing was created by step 3; the key of step 1 stays in PendingImport without material: resume with kms-byok wizard (step 3) or kms-byok import --bundle FILE');
  });
});
