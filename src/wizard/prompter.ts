/**
 * The wizard's only window on the terminal, and the only module that imports `@inquirer/prompts`.
 * Flows ask through the small {@link Prompter} interface, so tests drive them with a scripted prompter
 * (`wizard/scripted.ts`) that fails on any question it does not expect.
 *
 * Every question has a stable `id` (what the scripted prompter matches on). Ctrl-C or Escape at any
 * prompt rejects with `ERR_CANCELLED` (exit 130). Invalid answers are re-asked by inquirer itself,
 * with the reason `validate` returned.
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
}

export interface SelectQuestion<T extends string> {
  id: string;
  message: string;
  choices: { value: T; name: string; description?: string }[];
  default?: T;
}

export interface ConfirmQuestion {
  id: string;
  message: string;
  default?: boolean;
}

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
  async function ask<T>(message: string, run: (context: { input: NodeJS.ReadableStream; output: NodeJS.WritableStream; signal: AbortSignal }) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    // inquirer's readline emits 'keypress' on the input stream; Escape aborts the prompt.
    const onKey = (_: unknown, key: { name?: string } | undefined) => {
      if (key?.name === 'escape') controller.abort();
    };
    streams.input.on('keypress', onKey);
    try {
      return await run({ input: streams.input, output: streams.output, signal: controller.signal });
    } catch (e) {
      const name = (e as { name?: string }).name;
      if (name === 'ExitPromptError' || name === 'AbortPromptError' || name === 'CancelPromptError') throw cancelled(message);
      throw e;
    } finally {
      streams.input.removeListener('keypress', onKey);
    }
  }
  return {
    input: (q) =>
      ask(q.message, (ctx) =>
        inquirerInput({ message: q.message, ...(q.default !== undefined ? { default: q.default } : {}), ...(q.validate ? { validate: q.validate } : {}) }, ctx),
      ),
    select: <T extends string>(q: SelectQuestion<T>) =>
      ask(q.message, (ctx) =>
        inquirerSelect<T>({ message: q.message, choices: q.choices, ...(q.default !== undefined ? { default: q.default } : {}), pageSize: 12 }, ctx),
      ) as Promise<T>,
    confirm: (q) => ask(q.message, (ctx) => inquirerConfirm({ message: q.message, default: q.default ?? false }, ctx)),
    password: (q) => ask(q.message, (ctx) => inquirerPassword({ message: q.message, mask: true, ...(q.validate ? { validate: q.validate } : {}) }, ctx)),
    say: (text) => void streams.output.write(`${text}\n`),
  };
}
