/**
 * The onboard wizard's closing screen (src/cli/commands/wizard.ts `nextSteps`): a split escrow is
 * checked with as many `--share FILE` as it needs (M of an M-of-N threshold, every XOR component),
 * and without a renewal seal the renewal step first adds one with `escrow reseal --renewal-recipient`
 * rather than suggesting a schedule that would be refused (ERR_SCHEDULE_NOT_UNATTENDED). Every
 * suggested command line is parsed by the real command's flag spec.
 */
import { describe, expect, it } from 'vitest';
import { nextSteps } from '../../src/cli/commands/wizard.js';
import { parseCommand } from '../../src/cli/command-spec.js';
import { ESCROW_RESEAL, ESCROW_VERIFY } from '../../src/cli/specs/escrow.js';
import { SCHEDULE } from '../../src/cli/specs/schedule.js';

const result = { escrow: { path: 'escrow/k.v1.age' }, keyId: 'k', alias: 'alias/pay', validTo: '2027-01-01T00:00:00Z' } as Parameters<typeof nextSteps>[0];
const people = ['alice', 'bob', 'carol', 'dan', 'erin'];

/** The suggested `kms-byok WORDS …` line, as argv after the command words. */
function suggested(lines: string[], words: string): string[] {
  const line = lines.find((l) => l.trim().startsWith(`kms-byok ${words} `));
  expect(line, `no "kms-byok ${words}" line in:\n${lines.join('\n')}`).toBeDefined();
  return line!.trim().split(/\s+/).slice(1 + words.split(' ').length);
}
const count = (argv: string[], flag: string) => argv.filter((a) => a === flag).length;

describe('closing screen of a split onboard', () => {
  it('3-of-5 without a renewal recipient: three --share to verify; a renewal seal added with escrow reseal, then the schedule with its identity', () => {
    const lines = nextSteps(result, { custodians: people, mode: 'threshold', argv: ['--threshold', '3', '--escrow-dir', 'vault'] });
    const verify = suggested(lines, 'escrow verify');
    expect(count(verify, '--share')).toBe(3);
    const withNote = suggested(lines, 'escrow reseal');
    const reseal = withNote.slice(0, withNote.findIndex((w) => w.startsWith('('))); // without the note on where age1… comes from
    expect(count(reseal, '--share')).toBe(3);
    expect(reseal).toEqual(expect.arrayContaining(['--renewal-recipient', 'scheduler=age1…']));
    const schedule = suggested(lines, 'schedule');
    expect(schedule).toEqual(expect.arrayContaining(['--identity', 'scheduler.txt', '--escrow-dir', 'vault', '--key', 'alias/pay']));
    expect(lines.join('\n').indexOf('escrow reseal')).toBeLessThan(lines.join('\n').indexOf('kms-byok schedule'));
    for (const [spec, argv] of [[ESCROW_VERIFY, verify], [ESCROW_RESEAL, reseal], [SCHEDULE, schedule]] as const) expect(() => parseCommand(argv, spec)).not.toThrow();
  });

  it('XOR of four: four --share (every component)', () => {
    const lines = nextSteps(result, { custodians: people.slice(0, 4), mode: 'xor', argv: ['--split', 'xor'] });
    expect(count(suggested(lines, 'escrow verify'), '--share')).toBe(4);
    expect(count(suggested(lines, 'escrow reseal'), '--share')).toBe(4);
  });

  it('with a renewal recipient: no reseal; the schedule names that recipient identity', () => {
    const lines = nextSteps(result, { custodians: people.slice(0, 3), mode: 'threshold', argv: ['--threshold', '2', '--renewal-recipient', 'sched=age1xyz'] });
    expect(lines.join('\n')).not.toContain('escrow reseal');
    expect(suggested(lines, 'schedule')).toEqual(expect.arrayContaining(['--identity', 'sched.txt']));
    expect(lines.join('\n')).toContain('with the identity of the renewal recipient sched');
  });

  it('a plain escrow: verify and schedule with an identity file, no reseal', () => {
    const lines = nextSteps(result, { custodians: ['alice'], mode: 'any', argv: [] });
    expect(suggested(lines, 'escrow verify')).toEqual(['escrow/k.v1.age', '--identity', 'FILE']);
    expect(suggested(lines, 'schedule')).toEqual(expect.arrayContaining(['--identity', 'FILE']));
    expect(lines.join('\n')).not.toContain('escrow reseal');
  });
});
