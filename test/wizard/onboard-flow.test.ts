/**
 * The onboard wizard flow, driven by a scripted prompter that fails on any unexpected question: the
 * questions it asks, their defaults, validation that re-asks with the reason, the consequences
 * paragraph, and the argv it returns (the same flags a person would type).
 */
import { describe, expect, it } from 'vitest';
import { onboardWizard, type WizardContext } from '../../src/wizard/onboard.js';
import { CANCEL, scripted } from './scripted.js';

const NOW = new Date('2026-11-22T12:00:00Z');
const RECIPIENT = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';

function ctx(over: Partial<WizardContext['target']> = {}): WizardContext {
  return {
    now: () => NOW,
    target: { argv: [], configured: false, label: '', ...over },
    files: {
      readable: (p) => (p === 'pass.txt' || p === 'key.pem' ? true : `cannot read ${p}`),
      creatable: (p) => (p === 'exists.json' ? `${p} already exists` : true),
      bundle: (p) => `cannot read ${p}`,
    },
  };
}

/** Every default taken: emulator, SYMMETRIC_DEFAULT, recommended wrapping, 365d, generated, one custodian, ./escrow. */
const DEFAULTS: [string, string | boolean][] = [
  ['target', ''],
  ['emulatorState', ''],
  ['keySpec', ''],
  ['wrapping', ''],
  ['alias', ''],
  ['description', ''],
  ['expiry', ''],
  ['expiresIn', ''],
  ['material', ''],
  ['sealing', ''],
  ['recipient', RECIPIENT],
  ['moreRecipients', false],
  ['escrowDir', ''],
  ['confirm', true],
];

describe('onboard wizard flow', () => {
  it('with every default, asks exactly these questions and returns the flags a person would type', async () => {
    const p = scripted(DEFAULTS);
    const plan = await onboardWizard(p, ctx());
    p.assertDone();
    expect(plan?.argv).toEqual(['--yes', '--emulator', '--key-spec', 'SYMMETRIC_DEFAULT', '--expires-in', '365d', '--recipient', RECIPIENT, '--escrow-dir', './escrow']);
  });

  it('offers the embedded emulator only when nothing points at AWS', async () => {
    const p = scripted(DEFAULTS.filter(([id]) => id !== 'target' && id !== 'emulatorState'));
    const plan = await onboardWizard(p, ctx({ configured: true, argv: ['--region', 'eu-west-1'], label: 'AWS KMS (Region eu-west-1)' }));
    p.assertDone();
    expect(plan?.argv.slice(0, 3)).toEqual(['--yes', '--region', 'eu-west-1']);
    expect(p.said.join('\n')).toContain('Target: AWS KMS (Region eu-west-1)');
  });

  it('shows the consequences paragraph before the confirmation: where, what expires when, who opens the escrow, what is lost', async () => {
    const p = scripted(DEFAULTS);
    await onboardWizard(p, ctx());
    const text = p.said.join('\n');
    expect(text).toContain('is created in the embedded KMS emulator');
    expect(text).toContain('expires 365d after the import, around 2027-11-22');
    expect(text).toContain('The escrow can be opened by any one of 1 custodian (age1ql3z7hjy54…mcac8p) with their age identity');
    expect(text).toMatch(/If the escrow is lost, nobody can ever re-import this material/);
    expect(text).toContain('sealed in an escrow under ./escrow BEFORE anything is imported');
  });

  it('re-asks an invalid answer with its reason instead of failing (alias, recipient, duration, date, Region)', async () => {
    const p = scripted([
      ['target', 'aws'],
      ['region', 'Europe'],
      ['region', 'eu-west-1'],
      ['profile', 'prod'],
      ['keySpec', 'HMAC_256'],
      ['wrapping', ''],
      ['alias', 'payments'],
      ['alias', 'alias/aws/x'],
      ['alias', 'alias/payments'],
      ['description', 'payments MAC'],
      ['expiry', 'at'],
      ['validTo', '2026-01-01'],
      ['validTo', '2027-06-30 10:00'],
      ['validTo', '2030-01-01'],
      ['validTo', '2027-06-30'],
      ['material', 'file'],
      ['materialFile', 'missing.bin'],
      ['materialFile', 'key.pem'],
      ['sealing', 'recipients'],
      ['recipient', 'age1nope'],
      ['recipient', RECIPIENT],
      ['moreRecipients', false],
      ['escrowDir', '/srv/escrow'],
      ['confirm', true],
    ]);
    const plan = await onboardWizard(p, ctx());
    p.assertDone();
    expect(p.refused.map((r) => r.id)).toEqual(['region', 'alias', 'alias', 'validTo', 'validTo', 'validTo', 'materialFile', 'recipient']);
    expect(p.refused[1]!.reason).toContain('invalid alias "payments"');
    expect(p.refused[3]!.reason).toContain('is in the past');
    expect(p.refused[4]!.reason).toContain('not an ISO-8601 time with a zone');
    expect(p.refused[5]!.reason).toContain('more than 365 days ahead');
    expect(p.refused[7]!.reason).toContain('invalid age recipient');
    expect(plan?.argv).toEqual([
      '--yes', '--region', 'eu-west-1', '--profile', 'prod', '--key-spec', 'HMAC_256', '--alias', 'alias/payments',
      '--description', 'payments MAC', '--valid-to', '2027-06-30', '--material-file', 'key.pem', '--recipient', RECIPIENT, '--escrow-dir', '/srv/escrow',
    ]);
  });

  it('a material file in a rehearsal with a state file: the paragraph says the state holds it in the clear, and the argv carries that consent', async () => {
    const script = DEFAULTS.map(([id, a]): [string, string | boolean] => (id === 'emulatorState' ? [id, 'rehearsal.json'] : id === 'material' ? [id, 'file'] : [id, a]));
    script.splice(script.findIndex(([id]) => id === 'material') + 1, 0, ['materialFile', 'key.pem']);
    const p = scripted(script);
    const plan = await onboardWizard(p, ctx());
    p.assertDone();
    expect(p.said.join('\n')).toContain('The emulator state file rehearsal.json will hold the material from your file IN THE CLEAR');
    expect(plan?.argv).toEqual([
      '--yes', '--emulator', '--emulator-state', 'rehearsal.json', '--key-spec', 'SYMMETRIC_DEFAULT', '--expires-in', '365d',
      '--material-file', 'key.pem', '--i-understand-plaintext-state', '--recipient', RECIPIENT, '--escrow-dir', './escrow',
    ]);
  });

  it('refuses an expiry duration over 365 days, and asks key usage only when the spec has a choice', async () => {
    const p = scripted([
      ['target', 'emulator'],
      ['emulatorState', 'rehearsal.json'],
      ['keySpec', 'RSA_2048'],
      ['keyUsage', 'ENCRYPT_DECRYPT'],
      ['wrapping', 'RSA_AES_KEY_WRAP_SHA_1/RSA_3072'],
      ['alias', ''],
      ['description', ''],
      ['expiry', 'in'],
      ['expiresIn', '400d'],
      ['expiresIn', '90x'],
      ['expiresIn', '52w'],
      ['material', 'generate'],
      ['sealing', 'passphrase-file'],
      ['passphraseFile', 'pass.txt'],
      ['escrowDir', ''],
      ['confirm', true],
    ]);
    const plan = await onboardWizard(p, ctx());
    p.assertDone();
    expect(p.refused.map((r) => r.answer)).toEqual(['400d', '90x']);
    expect(plan?.argv).toEqual([
      '--yes', '--emulator', '--emulator-state', 'rehearsal.json', '--key-spec', 'RSA_2048', '--key-usage', 'ENCRYPT_DECRYPT',
      '--wrapping-algorithm', 'RSA_AES_KEY_WRAP_SHA_1', '--wrapping-key-spec', 'RSA_3072', '--expires-in', '52w',
      '--passphrase-file', 'pass.txt', '--escrow-dir', './escrow',
    ]);
    expect(plan?.argv.join(' ')).not.toMatch(/passphrase(?!-file)/);
  });

  it('offers only the wrapping pairs AWS allows for the spec, the chooser\'s pick first', async () => {
    let offered: string[] = [];
    const p = scripted([['target', 'emulator'], ['emulatorState', ''], ['keySpec', 'RSA_4096'], ['keyUsage', ''], ['wrapping', CANCEL]]);
    const select = p.select.bind(p);
    p.select = async (q) => {
      if (q.id === 'wrapping') offered = q.choices.map((c) => c.value);
      return select(q);
    };
    await expect(onboardWizard(p, ctx())).rejects.toMatchObject({ code: 'ERR_CANCELLED' });
    expect(offered[0]).toBe('RSA_AES_KEY_WRAP_SHA_256/RSA_4096');
    expect(offered.every((w) => w.startsWith('RSA_AES_KEY_WRAP'))).toBe(true);
  });

  it('declining the confirmation returns nothing to run', async () => {
    const p = scripted(DEFAULTS.map(([id, a]) => [id, id === 'confirm' ? false : a]));
    expect(await onboardWizard(p, ctx())).toBeUndefined();
  });

  it('a cancel at any question is ERR_CANCELLED (exit 130) saying nothing was created', async () => {
    for (let i = 0; i < DEFAULTS.length; i++) {
      const p = scripted([...DEFAULTS.slice(0, i), [DEFAULTS[i]![0], CANCEL]]);
      const e = await onboardWizard(p, ctx()).catch((x: unknown) => x);
      expect(e).toMatchObject({ code: 'ERR_CANCELLED', exitCode: 130, hint: 'nothing was created' });
    }
  });
});
