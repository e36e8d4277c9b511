/**
 * Passphrases worthy of decades (docs/custody.md, "Passphrases"): a passphrase that seals an escrow is
 * estimated with zxcvbn-ts (common + English dictionaries, loaded lazily: they are large) and refused
 * below score 4 ("very unguessable": about 10^10 guesses or more) with the estimator's reason and a
 * generated suggestion. `--allow-weak-passphrase` lets a rehearsal (the embedded emulator, or a loopback
 * endpoint) use a weak one with a warning; it is refused for anything else.
 */
import { randomInt } from 'node:crypto';
import { KmsByokError } from '../core/errors.js';
import type { SecretBytes } from '../core/secret.js';
import { say, type Io } from './io.js';

/** The lowest zxcvbn score accepted (0–4). */
export const MIN_PASSPHRASE_SCORE = 4;

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** A generated passphrase: 6 groups of 5 random base32 characters (150 bits), from the system's CSPRNG. */
export function suggestPassphrase(): string {
  return Array.from({ length: 6 }, () => Array.from({ length: 5 }, () => BASE32[randomInt(32)]).join('')).join('-');
}

type Estimator = (text: string) => { score: number; feedback: { warning: string | null; suggestions: string[] }; guessesLog10: number };
let estimator: Promise<Estimator> | undefined;

async function loadEstimator(): Promise<Estimator> {
  const [{ ZxcvbnFactory }, common, en] = await Promise.all([import('@zxcvbn-ts/core'), import('@zxcvbn-ts/language-common'), import('@zxcvbn-ts/language-en')]);
  const factory = new ZxcvbnFactory({ dictionary: { ...common.dictionary, ...en.dictionary }, graphs: common.adjacencyGraphs, translations: en.translations });
  return (text) => factory.check(text) as ReturnType<Estimator>;
}

/**
 * Refuses (ERR_WEAK_PASSPHRASE, exit 2, before any KMS request) a passphrase scoring below
 * {@link MIN_PASSPHRASE_SCORE}, naming why and suggesting a generated one; with `allowWeak` on a
 * rehearsal only warns. The passphrase passes through a JS string here (as it does for age).
 */
export async function assertStrongPassphrase(io: Io, passphrase: SecretBytes, opts: { flag: string; allowWeak: boolean; rehearsal: boolean }): Promise<void> {
  if (opts.allowWeak && !opts.rehearsal) {
    throw new KmsByokError('ERR_INVALID_COMBINATION', '--allow-weak-passphrase is for rehearsals only', {
      hint: 'use it with --emulator (or a loopback --endpoint-url); a real escrow needs a strong passphrase',
    });
  }
  estimator ??= loadEstimator();
  const estimate = await estimator;
  const result = passphrase.use((b) => estimate(new TextDecoder().decode(b)));
  if (result.score >= MIN_PASSPHRASE_SCORE) return;
  const why = [result.feedback.warning, `estimated about 10^${Math.floor(result.guessesLog10)} guesses (score ${result.score} of 4; ${MIN_PASSPHRASE_SCORE} is needed)`].filter(Boolean).join('; ');
  if (opts.allowWeak) {
    say(io, 'warning', `weak passphrase accepted for this rehearsal (--allow-weak-passphrase): ${why}`);
    return;
  }
  throw new KmsByokError('ERR_WEAK_PASSPHRASE', `the passphrase in ${opts.flag} is too weak for an escrow meant to last decades: ${why}`, {
    hint: `use a long random passphrase, e.g. one generated now: ${suggestPassphrase()} (write it down; it is not stored)${result.feedback.suggestions.length > 0 ? `; ${result.feedback.suggestions.join(' ')}` : ''}`,
  });
}
