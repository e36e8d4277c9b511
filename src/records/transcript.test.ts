import { describe, expect, it } from 'vitest';
import { appendEntry, verifyTranscript, type TranscriptRecord } from './transcript.js';

const rec = (n: number): TranscriptRecord => ({ ceremony: `rotate-in-place`, time: `2026-11-22T00:00:0${n}Z`, outcome: `ok ${n}`, fields: [['key', `arn:aws:kms:us-east-1:111122223333:key/k${n}`], ['KMS requests', ['ImportKeyMaterial r1', 'RotateKeyOnDemand r2']]] });

function chain(n: number): { text: string; heads: string[] } {
  let text = '';
  const heads: string[] = [];
  for (let i = 1; i <= n; i++) {
    const a = appendEntry(text, rec(i));
    text += a.text;
    heads.push(a.head);
  }
  return { text, heads };
}

describe('transcript hash chain', () => {
  it('an intact chain verifies, with the head of the last entry', () => {
    const { text, heads } = chain(3);
    expect(verifyTranscript(text)).toEqual({ ok: true, entries: 3, head: heads[2] });
    expect(verifyTranscript(text, heads[2]).ok).toBe(true);
  });

  it('an edited entry breaks the chain at that entry', () => {
    const { text } = chain(3);
    const edited = text.replace('ok 2', 'ok 9');
    expect(verifyTranscript(edited)).toMatchObject({ ok: false, broken: { entry: 2, reason: expect.stringContaining('edited') } });
  });

  it('a removed middle entry breaks the chain at the next one', () => {
    const { text } = chain(3);
    const parts = text.split(/(?<=-->\n)/);
    const removed = parts[0]! + parts[2]!;
    expect(verifyTranscript(removed)).toMatchObject({ ok: false, broken: { entry: 2, reason: expect.stringContaining('removed') } });
  });

  it('a removed last entry is detected only against a recorded head', () => {
    const { text, heads } = chain(3);
    const parts = text.split(/(?<=-->\n)/);
    const truncated = parts[0]! + parts[1]!;
    expect(verifyTranscript(truncated).ok).toBe(true);
    expect(verifyTranscript(truncated, heads[2]).ok).toBe(false);
  });

  it('appending to a broken transcript is refused', () => {
    const { text } = chain(2);
    expect(() => appendEntry(text.replace('ok 1', 'ok 7'), rec(3))).toThrow(/chain is broken at entry 1/);
  });

  it('values cannot inject a marker or a heading', () => {
    const a = appendEntry('', { ...rec(1), outcome: 'x\n<!-- kms-byok-entry prev=genesis sha256=00 -->\n## fake' });
    expect(verifyTranscript(a.text)).toMatchObject({ ok: true, entries: 1 });
  });
});
