/**
 * Going back over an attestation (src/wizard/back.ts): the air-gapped wrap flow's "does the
 * fingerprint match?" is never replayed from a kept answer. When the operator goes back past it, the
 * bundle is read again, its (possibly new) fingerprint is shown again and the question is asked again
 * with No as its default; a kept bundle path that no longer parses ends the replay there; and going
 * back twice keeps every later answer as a default.
 */
import { describe, expect, it } from 'vitest';
import { withGoingBack } from '../../src/wizard/back.js';
import { wrapWizard } from '../../src/wizard/airgap.js';
import type { BundleSummary, WizardContext } from '../../src/wizard/onboard.js';
import { BACK, scripted, type Answer } from './scripted.js';

const A = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';
const SHA_1 = '1'.repeat(64);
const SHA_2 = '2'.repeat(64);

/** A context whose parameters bundle is whatever `bundle.current` holds when it is read. */
function bundleContext(): { ctx: WizardContext; bundle: { current: BundleSummary | string } } {
  const bundle: { current: BundleSummary | string } = {
    current: { kind: 'parameters', sha256: SHA_1, keyArn: 'arn:aws:kms:eu-west-1:111122223333:key/k', keySpec: 'SYMMETRIC_DEFAULT', parametersValidTo: '2026-12-05T12:00:00Z' },
  };
  const ctx: WizardContext = {
    now: () => new Date('2026-12-04T12:00:00Z'),
    target: { argv: [], configured: false, label: '' },
    files: { readable: () => true, creatable: () => true, bundle: () => bundle.current },
  };
  return { ctx, bundle };
}

const UNTIL_SEALING: [string, Answer][] = [
  ['parametersFile', 'params.json'],
  ['fingerprintMatches', true],
  ['material', ''],
  ['sealing', ''],
];
const REST: [string, Answer][] = [
  ['recipient', A],
  ['moreRecipients', false],
  ['escrowDir', ''],
  ['importFile', ''],
  ['confirm', true],
];
const said = (p: { said: string[] }) => p.said.join('\n');
/** The fingerprint as the wizard shows it: groups of four hex digits. */
const shown = (sha: string) => sha.slice(0, 4) + ' ' + sha.slice(4, 8);

describe('going back over an attestation', () => {
  it('the fingerprint question is asked again (default No) with the bundle as it is now, not replayed as yes', async () => {
    const { ctx, bundle } = bundleContext();
    const p = scripted([...UNTIL_SEALING, ['recipient', A], ['moreRecipients', BACK], ['fingerprintMatches', false]]);
    const first = bundle.current as BundleSummary;
    // The file is replaced once the operator is past the fingerprint: the kept "yes" attests to another file.
    ctx.files.bundle = () => (p.asked.includes('moreRecipients') ? { ...first, sha256: SHA_2 } : first);
    await expect(withGoingBack(p, (asking) => wrapWizard(asking, ctx))).rejects.toMatchObject({ code: 'ERR_BUNDLE_TAMPERED' });
    p.assertDone();
    expect(p.asked.filter((id) => id === 'fingerprintMatches')).toHaveLength(2);
    expect(p.asked.filter((id) => id === 'parametersFile')).toHaveLength(1); // the path itself is replayed
    expect(said(p)).toContain(shown(SHA_1));
    expect(said(p)).toContain(shown(SHA_2)); // shown again, as it is now
  });

  it('going back to the fingerprint question itself offers No, not the earlier yes, as the default', async () => {
    const { ctx } = bundleContext();
    const p = scripted([...UNTIL_SEALING.slice(0, 2), ['material', BACK], ['fingerprintMatches', true], ['material', ''], ['sealing', ''], ...REST]);
    const plan = await withGoingBack(p, (asking) => wrapWizard(asking, ctx));
    p.assertDone();
    expect(plan?.argv).toEqual(expect.arrayContaining(['--parameters', 'params.json']));
    expect(p.defaults.filter((d) => d.id === 'fingerprintMatches').map((d) => d.default)).toEqual([false, false]);
  });

  it('a kept bundle path that no longer parses is asked again with the reason, and the replay stops there', async () => {
    const { ctx, bundle } = bundleContext();
    const p = scripted([...UNTIL_SEALING, ['recipient', BACK], ['parametersFile', ''], ['parametersFile', 'params2.json'], ['fingerprintMatches', true], ['material', ''], ['sealing', ''], ...REST]);
    const good = bundle.current as BundleSummary;
    const read = ctx.files.bundle;
    ctx.files.bundle = (path) => {
      // The first file is broken once the operator reached the custodian question.
      if (path === 'params.json' && p.asked.includes('recipient')) return 'params.json is not a kms-byok bundle';
      return path === 'params2.json' ? { ...good, sha256: SHA_2 } : read(path);
    };
    const plan = await withGoingBack(p, (asking) => wrapWizard(asking, ctx));
    p.assertDone();
    expect(p.refused).toEqual([{ id: 'parametersFile', answer: 'params.json', reason: 'params.json is not a kms-byok bundle' }]);
    expect(p.defaults.find((d) => d.id === 'parametersFile' && d.default === 'params.json')).toBeDefined(); // the kept path, offered
    expect(plan?.argv).toEqual(expect.arrayContaining(['--parameters', 'params2.json']));
    expect(said(p)).toContain(shown(SHA_2));
  });

  it('going back twice keeps the later answer as the default when walking forward again', async () => {
    const { ctx } = bundleContext();
    const p = scripted([
      ...UNTIL_SEALING,
      ['recipient', A],
      ['moreRecipients', false],
      ['escrowDir', '/srv/escrow'],
      ['importFile', BACK],
      ['fingerprintMatches', true], // asked again on every pass
      ['escrowDir', BACK],
      ['fingerprintMatches', true],
      ['moreRecipients', false],
      ['escrowDir', ''], // Enter: the kept /srv/escrow
      ['importFile', ''],
      ['confirm', true],
    ]);
    const plan = await withGoingBack(p, (asking) => wrapWizard(asking, ctx));
    p.assertDone();
    expect(p.defaults.filter((d) => d.id === 'escrowDir').map((d) => d.default)).toEqual(['./escrow', '/srv/escrow', '/srv/escrow']);
    expect(plan?.argv).toEqual(expect.arrayContaining(['--escrow-dir', '/srv/escrow']));
  });
});
