/**
 * The transcript cannot be rewritten quietly (docs/lifecycle.md, "Ceremony transcript"): each ceremony
 * writes the chain head after its entry to the tag `kms-byok:transcript-head` of the keys it touched.
 * An attacker who rewrites the operator in every entry and re-chains the hashes passes a plain
 * `transcript verify` (the chain is consistent), but `--against-kms` finds the heads KMS holds in no
 * entry of the rewritten chain; so does a transcript cut short after the last anchored entry.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { ListResourceTagsCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, workspace, type Workspace } from '../e2e/harness.js';
import { custodian } from '../e2e/identities.js';

let ws: Workspace;
let alice: { identity: string; recipient: string; path: string };
let keyArn: string;
const escrow = () => ws.path('escrow');
const transcript = () => ws.path('escrow/transcript.md');

/** Re-chains a transcript after `edit` changed entry bodies, as an attacker with write access would. */
function rechain(text: string, edit: (body: string) => string): string {
  const marker = /<!-- kms-byok-entry prev=(?:genesis|[0-9a-f]{64}) sha256=[0-9a-f]{64} -->\n/g;
  const header = text.slice(0, text.indexOf('\n## '));
  const bodies: string[] = [];
  let pos = header.length;
  for (let m = marker.exec(text); m !== null; m = marker.exec(text)) {
    bodies.push(text.slice(pos + 1, m.index));
    pos = m.index + m[0].length;
  }
  let prev = 'genesis';
  let out = header;
  for (const b of bodies.map(edit)) {
    const sha = createHash('sha256').update(`${prev}\n${b}`).digest('hex');
    out += `\n${b}<!-- kms-byok-entry prev=${prev} sha256=${sha} -->\n`;
    prev = sha;
  }
  return out;
}

beforeAll(async () => {
  ws = await workspace();
  alice = await custodian(ws.path('alice.txt'));
  const r = await run(['onboard', ...ws.target, '--yes', '--json', '--recipient', alice.recipient, '--escrow-dir', escrow(), '--expires-in', '30d']);
  expect(r.code, r.stderr).toBe(0);
  keyArn = r.json<{ keyArn: string }>().keyArn;
  const re = await run(['reimport', keyArn, ...ws.target, '--escrow-dir', escrow(), '--identity', alice.path, '--expires-in', '60d']);
  expect(re.code, re.stderr).toBe(0);
});
afterAll(async () => ws?.close());

describe('the transcript head anchored in KMS', () => {
  it('every ceremony tags the key it touched with the head after its entry; verify --against-kms agrees', async () => {
    const tags = await ws.kms.send(new ListResourceTagsCommand({ KeyId: keyArn }));
    const head = tags.Tags?.find((t) => t.TagKey === 'kms-byok:transcript-head')?.TagValue;
    const plain = await run(['transcript', 'verify', transcript(), '--json']);
    expect(plain.code, plain.stderr).toBe(0);
    expect(head).toBe(plain.json<{ head: string }>().head);
    const r = await run(['transcript', 'verify', transcript(), '--against-kms', ...ws.target, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json<{ anchors: { anchored: string[]; mismatched: unknown[] } }>().anchors).toMatchObject({ anchored: [keyArn], mismatched: [] });
  });

  it('a re-chained rewrite passes the plain check but not --against-kms (exit 3)', async () => {
    const original = readFileSync(transcript(), 'utf8');
    const forged = rechain(original, (b) => b.replace(/(- \*\*operator\*\*: )\S+/g, '$1mallory@elsewhere'));
    expect(forged).not.toBe(original);
    const path = ws.path('forged.md');
    writeFileSync(path, forged, { mode: 0o600 });
    expect((await run(['transcript', 'verify', path])).code).toBe(0);
    const r = await run(['transcript', 'verify', path, '--against-kms', ...ws.target]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/transcript head that names no entry of this chain/);
  });

  it('a transcript cut short after the anchored entry fails --against-kms', async () => {
    const original = readFileSync(transcript(), 'utf8');
    const lastEntry = original.lastIndexOf('\n## ');
    const path = ws.path('short.md');
    writeFileSync(path, original.slice(0, lastEntry), { mode: 0o600 });
    const plain = await run(['transcript', 'verify', path]);
    expect(plain.code, plain.stderr).toBe(0);
    const r = await run(['transcript', 'verify', path, '--against-kms', ...ws.target]);
    expect(r.code, r.stderr).toBe(3);
  });
});
