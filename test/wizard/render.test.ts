/** What witnesses read: check values boxed and grouped, fingerprints in groups, quoted command lines. */
import { describe, expect, it } from 'vitest';
import { commandLine, fingerprintLines, readAloud, shellQuote } from '../../src/wizard/render.js';

describe('wizard rendering', () => {
  it('boxes a 6-digit check value in spaced groups of three, with its method', () => {
    expect(readAloud('cmac-aes:1A2B3C', '')).toBe(['┌─────────────────┐', '│  1 A 2   B 3 C  │  cmac-aes', '└─────────────────┘'].join('\n'));
  });

  it('boxes a 64-digit spki-sha256 value in groups of four, four groups a line', () => {
    const lines = readAloud(`spki-sha256:${'0123456789ABCDEF'.repeat(4)}`, '').split('\n');
    expect(lines).toHaveLength(6);
    expect(lines[1]).toBe('│  0 1 2 3   4 5 6 7   8 9 A B   C D E F  │  spki-sha256');
  });

  it('shows a fingerprint as two lines of eight upper-case groups', () => {
    expect(fingerprintLines('ab'.repeat(32), '')).toBe(`${'ABAB '.repeat(7)}ABAB\n${'ABAB '.repeat(7)}ABAB`);
  });

  it('quotes only what the shell would split or expand', () => {
    expect(shellQuote('alias/payments')).toBe('alias/payments');
    expect(shellQuote("it's a key")).toBe(`'it'\\''s a key'`);
    expect(commandLine(['onboard', '--description', 'a b'])).toBe("kms-byok onboard --description 'a b'");
  });
});
