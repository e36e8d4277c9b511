/**
 * A mistyped age recipient is named as a typo (its bech32 checksum fails), not as an unsupported
 * plugin recipient; a well-formed plugin recipient is named as such. Also through the flag path.
 */
import { describe, expect, it } from 'vitest';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { parseRecipient } from '../../src/escrow/seal.js';
import { run } from '../e2e/harness.js';

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';

/** The recipient with one data character replaced by another valid bech32 character. */
function oneCharTypo(r: string, at: number): string {
  const c = r[at]!;
  const other = CHARSET[(CHARSET.indexOf(c) + 1) % CHARSET.length]!;
  return r.slice(0, at) + other + r.slice(at + 1);
}

function reason(text: string): string {
  try {
    parseRecipient(text);
    return 'accepted';
  } catch (e) {
    return (e as Error).message;
  }
}

describe('age recipient typos', () => {
  it('every single-character typo is "checksum mismatch — probably a typo"; the original is accepted', async () => {
    const r = await identityToRecipient(await generateIdentity());
    expect(reason(r)).toBe('accepted');
    for (const at of [5, 20, 40, r.length - 1]) expect(reason(oneCharTypo(r, at))).toContain('checksum mismatch — probably a typo');
    expect(reason(r.slice(0, -1))).toContain('checksum mismatch — probably a typo');
    expect(reason(`${r.slice(0, 10)}b${r.slice(11)}`)).toContain('probably a typo'); // 'b' is not bech32
  });

  it('a well-formed plugin recipient is named as a plugin recipient', () => {
    // age-plugin-yubikey's recipient form (hrp age1yubikey), with a valid checksum.
    const plugin = 'age1yubikey1qwt50d05nh5vutpdzmlg5wn80xq5negm4uj9ghv0snvdd3yysf5yw3rhl3t';
    expect(reason(plugin)).toContain('a plugin recipient (age1yubikey1…)');
    expect(reason(plugin)).not.toContain('typo');
  });

  it('the flag path says so too, before any KMS request (exit 2)', async () => {
    const r = await identityToRecipient(await generateIdentity());
    const out = await run(['onboard', '--emulator', '--yes', '--no-expiry', '--recipient', `bob=${oneCharTypo(r, 30)}`, '--escrow-dir', '/nonexistent/escrow']);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('checksum mismatch — probably a typo');
  });
});
