/**
 * Going back one question (README, "The wizard"): a flow is a deterministic function of its answers
 * (flows have no effects; they only ask and build argv), so going back is a replay. The answers given
 * so far are kept in order; when the operator goes back at question k, the flow runs again from its
 * start with answers 1..k-2 replayed silently (nothing is asked or printed again) and question k-1 is
 * asked again, with its earlier answer as the default. Earlier answers are never lost.
 *
 * The state machine is the answer list: `replay` (answers still to replay), `live` (asking). A
 * question whose id differs from the recorded one (the flow took another branch after a changed
 * answer) ends the replay there and everything after it is asked afresh.
 */
import { GoBack, type ConfirmQuestion, type InputQuestion, type Prompter, type SelectQuestion } from './prompter.js';

/** The help line printed once before the first question. */
export const BACK_HELP = 'At any question: < goes back to the previous one (in a text answer: type < and Enter); Ctrl-C or Escape cancels.';

interface Answered {
  id: string;
  value: string | boolean;
}

/** Runs `flow` over `inner` with going back offered at every question but the first. */
export async function withGoingBack<T>(inner: Prompter, flow: (p: Prompter) => Promise<T>): Promise<T> {
  const answers: Answered[] = [];
  /** The answer of the question being asked again, offered as its default. */
  let redo: Answered | undefined;
  for (;;) {
    let at = 0;
    const replayed = <V extends string | boolean>(id: string): V | undefined => {
      const a = answers[at];
      if (a === undefined) return undefined;
      if (a.id === id) {
        at++;
        return a.value as V;
      }
      answers.length = at; // another branch from here on: ask afresh
      return undefined;
    };
    const live = async <V extends string | boolean>(id: string, ask: (back: boolean, previous: V | undefined) => Promise<V>): Promise<V> => {
      const previous = redo?.id === id ? (redo.value as V) : undefined;
      const value = await ask(answers.length > 0, previous);
      redo = undefined;
      answers.push({ id, value });
      at++;
      return value;
    };
    const p: Prompter = {
      async input(q: InputQuestion) {
        return replayed<string>(q.id) ?? live<string>(q.id, (back, prev) => inner.input({ ...q, back, ...(prev !== undefined ? { default: prev } : {}) }));
      },
      async password(q: InputQuestion) {
        // A hidden answer is replayed like any other, but never offered as a visible default.
        return replayed<string>(q.id) ?? live<string>(q.id, (back) => inner.password({ ...q, back }));
      },
      async select<V extends string>(q: SelectQuestion<V>): Promise<V> {
        return replayed<V>(q.id) ?? live<V>(q.id, (back, prev) => inner.select<V>({ ...q, back, ...(prev !== undefined ? { default: prev } : {}) }));
      },
      async confirm(q: ConfirmQuestion) {
        const r = replayed<boolean>(q.id);
        return r !== undefined ? r : live<boolean>(q.id, (back, prev) => inner.confirm({ ...q, back, ...(prev !== undefined ? { default: prev } : {}) }));
      },
      say(text) {
        // What a replayed stretch said was shown already; what leads up to the live question is shown again.
        if (at >= answers.length) inner.say(text);
      },
    };
    try {
      return await flow(p);
    } catch (e) {
      if (!(e instanceof GoBack) || answers.length === 0) throw e;
      redo = answers.pop();
    }
  }
}
