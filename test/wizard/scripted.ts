/**
 * A scripted Prompter for tests: answers come from a list of `[id, answer]` in the order the flow
 * must ask them. Any question that is not the next expected one fails the test, so a flow cannot grow
 * a question (or ask in another order) without its tests saying so. An answer its question's
 * `validate` refuses is recorded with the reason and the next scripted answer for the same id is
 * used, exactly as the terminal re-asks. `CANCEL` answers like Ctrl-C/Escape; `BACK` goes back one
 * question, and fails the test where the terminal would not offer it (the question has no `back`).
 */
import { cancelled, GoBack, type ConfirmQuestion, type InputQuestion, type Prompter, type SelectQuestion } from '../../src/wizard/prompter.js';

export const CANCEL = Symbol('cancel');
export const BACK = Symbol('back');
export type Answer = string | boolean | typeof CANCEL | typeof BACK;

export interface Scripted extends Prompter {
  /** Everything said between questions. */
  said: string[];
  /** Answers refused by validation, with the reason shown. */
  refused: { id: string; answer: string; reason: string }[];
  /** Ids asked, in order. */
  asked: string[];
  /** The default each question was asked with, in order (what Enter would answer). */
  defaults: { id: string; default: unknown }[];
  /** Fails unless every scripted answer was used. */
  assertDone(): void;
}

export function scripted(script: [string, Answer][]): Scripted {
  const queue = [...script];
  const said: string[] = [];
  const refused: Scripted['refused'] = [];
  const asked: string[] = [];
  const defaults: Scripted['defaults'] = [];

  function next(q: { id: string; message: string; back?: boolean; default?: unknown }): string | boolean {
    const { id, message } = q;
    asked.push(id);
    defaults.push({ id, default: q.default });
    const entry = queue.shift();
    if (!entry) throw new Error(`unexpected question "${id}" (${message}): the script has no more answers`);
    if (entry[0] !== id) throw new Error(`unexpected question "${id}" (${message}): the script expected "${entry[0]}"`);
    if (entry[1] === CANCEL) throw cancelled(message);
    if (entry[1] === BACK) {
      if (!q.back) throw new Error(`question "${id}" does not offer going back`);
      throw new GoBack();
    }
    return entry[1];
  }

  async function answerText(q: InputQuestion): Promise<string> {
    for (;;) {
      const a = next(q);
      if (typeof a !== 'string') throw new Error(`question "${q.id}" needs a string answer`);
      const text = a === '' && q.default !== undefined ? q.default : a;
      const verdict = q.validate ? await q.validate(text) : true;
      if (verdict === true) return text;
      refused.push({ id: q.id, answer: text, reason: verdict });
    }
  }

  return {
    said,
    refused,
    asked,
    defaults,
    input: async (q) => answerText(q),
    password: async (q) => answerText(q),
    async select<T extends string>(q: SelectQuestion<T>): Promise<T> {
      const a = next(q);
      const value = a === '' ? q.default : a;
      const found = q.choices.find((c) => c.value === value);
      if (!found) throw new Error(`question "${q.id}": "${String(a)}" is not one of ${q.choices.map((c) => c.value).join(', ')}`);
      return found.value;
    },
    async confirm(q: ConfirmQuestion): Promise<boolean> {
      const a = next(q);
      if (typeof a !== 'boolean') throw new Error(`question "${q.id}" needs a boolean answer`);
      return a;
    },
    say: (text) => void said.push(text),
    assertDone() {
      if (queue.length > 0) throw new Error(`unused answers: ${queue.map(([id]) => id).join(', ')}`);
    },
  };
}
