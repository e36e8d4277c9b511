/**
 * Going back one question (src/wizard/back.ts) over the real onboard flow, driven by a scripted
 * prompter: the previous question is asked again with its earlier answer as the default, the answers
 * before it are replayed without being asked or printed again, a changed answer that changes the
 * flow's branch drops what came after it, and the first question offers no going back.
 * Also the renewal-recipient question of a split onboard.
 */
import { describe, expect, it } from 'vitest';
import { withGoingBack } from '../../src/wizard/back.js';
import { onboardWizard, type WizardContext } from '../../src/wizard/onboard.js';
import { BACK, scripted, type Answer } from './scripted.js';

const NOW = new Date('2026-11-22T12:00:00Z');
const A = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';
// Real recipients (generated with age-encryption; public values only).
const B = 'age1z7eet4e054dvah8m43m388rurw06rw6defe0anzvwr2rjmtfh4jsedtfe7';
const C = 'age14zz63zm9f7rtjl93ytewkmcv469p39v8w5khmr47x33aq5c3dd7slqqeka';
const S = 'age1atu95kex5gfp2gcu49vtsnvvpzf2c06zna8eu82vk57qxf8g4ehsrzphx5';

const ctx: WizardContext = {
  now: () => NOW,
  target: { argv: [], configured: false, label: '' },
  files: { readable: () => true, creatable: () => true, bundle: (p) => `cannot read ${p}` },
};

const START: [string, Answer][] = [
  ['target', ''],
  ['emulatorState', ''],
  ['keySpec', ''],
  ['wrapping', ''],
];
const REST: [string, Answer][] = [
  ['expiry', ''],
  ['expiresIn', ''],
  ['material', ''],
  ['sealing', ''],
  ['recipient', A],
  ['moreRecipients', false],
  ['escrowDir', ''],
  ['confirm', true],
];

describe('going back one question', () => {
  it('asks the previous question again with its earlier answer as the default; earlier answers are kept, not asked or printed again', async () => {
    const p = scripted([...START, ['alias', 'alias/first'], ['description', BACK], ['alias', 'alias/second'], ['description', ''], ...REST]);
    const plan = await withGoingBack(p, (asking) => onboardWizard(asking, ctx));
    p.assertDone();
    expect(plan?.argv).toContain('alias/second');
    expect(plan?.argv).not.toContain('alias/first');
    expect(p.asked.filter((id) => id === 'keySpec')).toHaveLength(1);
    const aliasDefaults = p.defaults.filter((d) => d.id === 'alias').map((d) => d.default);
    expect(aliasDefaults).toEqual(['', 'alias/first']);
    expect(p.said.filter((t) => t.startsWith('Onboard: create'))).toHaveLength(1);
  });

  it('Enter on the question asked again keeps the earlier answer', async () => {
    const p = scripted([...START, ['alias', 'alias/kept'], ['description', BACK], ['alias', ''], ['description', ''], ...REST]);
    const plan = await withGoingBack(p, (asking) => onboardWizard(asking, ctx));
    p.assertDone();
    expect(plan?.argv).toEqual(expect.arrayContaining(['--alias', 'alias/kept']));
  });

  it('goes back several questions in a row, and from the confirmation', async () => {
    const p = scripted([
      ...START,
      ['alias', ''],
      ['description', BACK],
      ['alias', BACK],
      ['wrapping', ''],
      ['alias', 'alias/x'],
      ['description', ''],
      ...REST.slice(0, -1),
      ['confirm', BACK],
      ['escrowDir', '/srv/escrow'],
      ['confirm', true],
    ]);
    const plan = await withGoingBack(p, (asking) => onboardWizard(asking, ctx));
    p.assertDone();
    expect(plan?.argv.slice(-2)).toEqual(['--escrow-dir', '/srv/escrow']);
    expect(plan?.argv).toEqual(expect.arrayContaining(['--alias', 'alias/x']));
  });

  it('a changed answer that takes another branch drops the answers of the old one', async () => {
    const p = scripted([
      ...START,
      ['alias', ''],
      ['description', ''],
      ['expiry', ''],
      ['expiresIn', ''],
      ['material', ''],
      ['sealing', ''],
      ['recipient', `alice=${A}`],
      ['moreRecipients', true],
      ['recipient', `bob=${B}`],
      ['moreRecipients', false],
      ['custody', 'threshold'],
      ['threshold', BACK],
      ['custody', 'any'],
      ['escrowDir', ''],
      ['confirm', true],
    ]);
    const plan = await withGoingBack(p, (asking) => onboardWizard(asking, ctx));
    p.assertDone();
    expect(plan?.argv).not.toContain('--threshold');
    expect(plan?.mode).toBe('any');
  });

  it('the first question offers no going back', async () => {
    const p = scripted([['target', BACK]]);
    await expect(withGoingBack(p, (asking) => onboardWizard(asking, ctx))).rejects.toThrow('does not offer going back');
  });
});

describe('renewal recipient of a split onboard', () => {
  const split = (renewal: Answer[]): [string, Answer][] => [
    ...START,
    ['alias', ''],
    ['description', ''],
    ['expiry', ''],
    ['expiresIn', ''],
    ['material', ''],
    ['sealing', ''],
    ['recipient', `alice=${A}`],
    ['moreRecipients', true],
    ['recipient', `bob=${B}`],
    ['moreRecipients', true],
    ['recipient', `carol=${C}`],
    ['moreRecipients', false],
    ['custody', 'threshold'],
    ['threshold', ''],
    ...renewal.map((a): [string, Answer] => ['renewalRecipient', a]),
    ['escrowDir', ''],
    ['confirm', true],
  ];

  it('validated as --renewal-recipient is (a typo, a custodian of the split refused), then passed as the flag', async () => {
    const p = scripted(split([`sched=${S.slice(0, -1)}q`, `sched=${B}`, `sched=${S}`]));
    const plan = await onboardWizard(p, ctx);
    p.assertDone();
    expect(p.refused.map((r) => r.reason)).toEqual([expect.stringContaining('checksum mismatch'), expect.stringContaining('is a custodian of the split')]);
    expect(plan?.argv).toEqual(expect.arrayContaining(['--threshold', '2', '--renewal-recipient', `sched=${S}`]));
    expect(p.said.join('\n')).toContain('the scheduler sched alone can re-import it (renewal seal)');
  });

  it('empty: no renewal seal', async () => {
    const p = scripted(split(['']));
    const plan = await onboardWizard(p, ctx);
    p.assertDone();
    expect(plan?.argv).not.toContain('--renewal-recipient');
  });
});
