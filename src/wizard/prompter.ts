/**
 * The wizard's only window on the terminal, and the only module that imports `@inquirer/prompts`.
 * Flows ask through the small {@link Prompter} interface, so tests drive them with a scripted prompter
 * (`wizard/scripted.ts`) that fails on any question it does not expect.
 *
 * Every question has a stable `id` (what the scripted prompter matches on). Ctrl-C or Escape at any
 * prompt rejects with `ERR_CANCELLED` (exit 130). Invalid answers are re-asked by inquirer itself,
 * with the reason `validate` returned. A question asked with `back: true` also lets the operator go
 * back one question (`wizard/back.ts`): `<` as a text answer, the `< back` choice of a list, or the
 * `<` key at a list or yes/no question; the prompter then rejects with {@link GoBack}.
 */
import { confirm as inquirerConfirm, input as inquirerInput, password as inquirerPassword, select as inquirerSelect } from '@inquirer/prompts';
import { KmsByokError } from '../core/errors.js';

/**
 * `true` when the answer is acceptable, otherwise the reason shown under the prompt. May ask KMS
 * (an alias checked free as it is typed): then it returns a promise, which inquirer awaits.
 */
export type Validate = (answer: string) => true | string | Promise<true | string>;

export interface InputQuestion {
  id: string;
  message: string;
  default?: string;
  validate?: Validate;
  /** Offer going back to the previous question (set by `wizard/back.ts`, never by flows). */
  back?: boolean;
}

export interface SelectQuestion<T extends string> {
  id: string;
  message: string;
  choices: { value: T; name: string; description?: string }[];
  default?: T;
  back?: boolean;
}

export interface ConfirmQuestion {
  id: string;
  message: string;
  default?: boolean;
  back?: boolean;
  /**
   * The answer attests to something the operator compared or read (a fingerprint, the consequences):
   * going back never replays it nor offers its earlier answer as the default (`wizard/back.ts`).
   */
  attest?: boolean;
}

/** Thrown by a prompter when the operator goes back one question (only where `back` was offered). */
export class GoBack extends Error {
  constructor() {
    super('back to the previous question');
    this.name = 'GoBack';
  }
}

/** What the operator types (or presses) to go back. */
export const BACK_KEY = '<';
/** The value of the `< back` choice appended to a list question. */
const BACK_CHOICE = '\u0000back';

/** What a wizard flow may ask, and how it shows text between questions. */
export interface Prompter {
  input(q: InputQuestion): Promise<string>;
  select<T extends string>(q: SelectQuestion<T>): Promise<T>;
  confirm(q: ConfirmQuestion): Promise<boolean>;
  /** Hidden input; not used for passphrases today (they are referenced by file path only). */
  password(q: InputQuestion): Promise<string>;
  /** Prints a paragraph (on stderr: stdout carries only results). */
  say(text: string): void;
}

/** The error every prompter throws when the operator cancels. */
export function cancelled(message: string): KmsByokError {
  return new KmsByokError('ERR_CANCELLED', `cancelled at "${message}"`, { hint: 'nothing was created' });
}

interface Streams {
  input: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  output: NodeJS.WritableStream;
}

/** The real prompter over inquirer, on a terminal. */
export function createInquirerPrompter(streams: Streams): Prompter {
  /** `backKey`: the `<` key goes back at once (list and yes/no questions, where it is not text). */
  async function ask<T>(message: string, run: (context: { input: NodeJS.ReadableStream; output: NodeJS.WritableStream; signal: AbortSignal }) => Promise<T>, backKey = false): Promise<T> {
    const controller = new AbortController();
    let back = false;
    // inquirer's readline emits 'keypress' on the input stream; Escape aborts the prompt.
    const onKey = (text: unknown, key: { name?: string } | undefined) => {
      if (key?.name === 'escape') controller.abort();
      else if (backKey && text === BACK_KEY) {
        back = true;
        controller.abort();
      }
    };
    streams.input.on('keypress', onKey);
    try {
      return await run({ input: streams.input, output: streams.output, signal: controller.signal });
    } catch (e) {
      const name = (e as { name?: string }).name;
      if (back && name === 'AbortPromptError') throw new GoBack();
      if (name === 'ExitPromptError' || name === 'AbortPromptError' || name === 'CancelPromptError') throw cancelled(message);
      throw e;
    } finally {
      streams.input.removeListener('keypress', onKey);
    }
  }
  /** `<` typed as the whole answer is accepted (whatever `validate` says) and means back. */
  const textBack = (q: InputQuestion) => {
    if (!q.back) return { validate: q.validate, done: (text: string) => text };
    const validate: Validate = (t) => (t.trim() === BACK_KEY ? true : q.validate ? q.validate(t) : true);
    return {
      validate,
      done: (text: string) => {
        if (text.trim() === BACK_KEY) throw new GoBack();
        return text;
      },
    };
  };
  return {
    input: async (q) => {
      const b = textBack(q);
      return b.done(
        await ask(q.message, (ctx) =>
          inquirerInput({ message: q.message, ...(q.default !== undefined ? { default: q.default } : {}), ...(b.validate ? { validate: b.validate } : {}) }, ctx),
        ),
      );
    },
    select: async <T extends string>(q: SelectQuestion<T>) => {
      const choices: { value: string; name: string; description?: string }[] = q.back ? [...q.choices, { value: BACK_CHOICE, name: `${BACK_KEY} back to the previous question` }] : q.choices;
      const v = await ask(
        q.message,
        (ctx) => inquirerSelect<string>({ message: q.message, choices, ...(q.default !== undefined ? { default: q.default } : {}), pageSize: 12 }, ctx),
        q.back === true,
      );
      if (v === BACK_CHOICE) throw new GoBack();
      return v as T;
    },
    confirm: (q) => ask(q.message, (ctx) => inquirerConfirm({ message: q.message, default: q.default ?? false }, ctx), q.back === true),
    password: async (q) => {
      const b = textBack(q);
      return b.done(await ask(q.message, (ctx) => inquirerPassword({ message: q.message, mask: true, ...(b.validate ? { validate: b.validate } : {}) }, ctx)));
    },
    say: (text) => void streams.output.write(`${text}\n`),
  };
}
