/**
 * Going back one question (README, "The wizard"): a flow is a deterministic function of its answers
 * (flows have no effects; they only ask and build argv), so going back is a replay. The answers given
 * so far are kept in order; when the operator goes back at question k, the flow runs again from its
 * start with answers 1..k-2 replayed silently (nothing is asked or printed again) and question k-1 is
 * asked again, with its earlier answer as the default. Every question after it is then asked again
 * too, each offering its kept answer as the default: going back several times loses no answer's
 * default, as long as the flow asks the same questions in the same order.
 *
 * A replayed answer is checked again as if it had just been typed: a text answer its `validate` now
 * refuses (a file that changed or vanished) or a choice no longer offered ends the replay there, and
 * that question and every one after it are asked again (kept answers as defaults). An attestation
 * (`ConfirmQuestion.attest`: "does the fingerprint match?") is never replayed: it is asked again
 * every time the flow passes it, with what led up to it printed again and its own default (No),
 * because what it attests to may have changed since.
 *
 * The state machine is the answer list plus `replayTo` (how many answers to replay). A question whose
 * id differs from the kept one (the flow took another branch after a changed answer) drops the kept
 * answers from there on and everything after it is asked afresh.
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
  /** Answers 0..replayTo-1 are replayed silently (when still valid); from replayTo on, questions are asked. */
  let replayTo = 0;
  for (;;) {
    let at = 0;
    /** What was said since the last replayed answer: printed only if the next question is asked. */
    let held: string[] = [];
    const kept = <V extends string | boolean>(id: string): V | undefined => {
      const a = answers[at];
      if (a === undefined) return undefined;
      if (a.id === id) return a.value as V;
      answers.length = at; // another branch from here on: ask afresh
      return undefined;
    };
    /** The kept answer of this question when it may be replayed (`ok` checks it again), else undefined. */
    const replayed = async <V extends string | boolean>(id: string, ok: (v: V) => boolean | Promise<boolean>): Promise<V | undefined> => {
      if (at >= replayTo) return undefined;
      const v = kept<V>(id);
      if (v === undefined || !(await ok(v))) {
        replayTo = at; // no longer valid (or another branch): ask from here on
        return undefined;
      }
      at++;
      held = [];
      return v;
    };
    const live = async <V extends string | boolean>(id: string, ask: (back: boolean, previous: V | undefined) => Promise<V>): Promise<V> => {
      for (const text of held) inner.say(text);
      held = [];
      const previous = kept<V>(id);
      let value: V;
      try {
        value = await ask(at > 0, previous);
      } catch (e) {
        if (e instanceof GoBack) replayTo = at - 1;
        throw e;
      }
      answers[at] = { id, value };
      at++;
      return value;
    };
    const valid = async (q: InputQuestion, v: string) => !q.validate || (await q.validate(v)) === true;
    const p: Prompter = {
      async input(q: InputQuestion) {
        return (await replayed<string>(q.id, (v) => valid(q, v))) ?? live<string>(q.id, (back, prev) => inner.input({ ...q, back, ...(prev !== undefined ? { default: prev } : {}) }));
      },
      async password(q: InputQuestion) {
        // A hidden answer is replayed like any other, but never offered as a visible default.
        return (await replayed<string>(q.id, (v) => valid(q, v))) ?? live<string>(q.id, (back) => inner.password({ ...q, back }));
      },
      async select<V extends string>(q: SelectQuestion<V>): Promise<V> {
        const offered = (v: V) => q.choices.some((c) => c.value === v);
        return (
          (await replayed<V>(q.id, offered)) ??
          live<V>(q.id, (back, prev) => inner.select<V>({ ...q, back, ...(prev !== undefined && offered(prev) ? { default: prev } : {}) }))
        );
      },
      async confirm(q: ConfirmQuestion) {
        if (q.attest) {
          // Never replayed, never defaulted from a kept answer; the replay goes on after it.
          const replaying = at < replayTo;
          const value = await live<boolean>(q.id, (back) => inner.confirm({ ...q, back }));
          if (replaying && value !== true) replayTo = at; // a changed answer: what follows is asked
          return value;
        }
        const r = await replayed<boolean>(q.id, () => true);
        return r !== undefined ? r : live<boolean>(q.id, (back, prev) => inner.confirm({ ...q, back, ...(prev !== undefined ? { default: prev } : {}) }));
      },
      say(text) {
        // What a replayed stretch said was shown already; what leads up to an asked question is shown again.
        if (at < replayTo) held.push(text);
        else inner.say(text);
      },
    };
    try {
      return await flow(p);
    } catch (e) {
      if (!(e instanceof GoBack) || replayTo < 0) throw e;
    }
  }
}
