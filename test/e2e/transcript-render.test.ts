/**
 * The printable ceremony record (`transcript render --html`, docs/lifecycle.md "Printable ceremony
 * record"): rendered from a real onboard and acknowledgement, checked for escaping and refusal of a
 * broken chain, then opened in headless Chromium — a screenshot and a PDF print are made, and the
 * rendered DOM's check values, key ARN and chain head equal the transcript's. The Chromium part is
 * skipped (with the reason printed) when /usr/bin/chromium is absent; .ci/run installs it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, workspace, type Workspace } from './harness.js';
import { custodian } from './identities.js';
import { parseEntries, verifyTranscript } from '../../src/records/transcript.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.log(`transcript-render: skipping the headless Chromium part: ${CHROMIUM} is not installed (apt-get install -y chromium)`);

let ws: Workspace;
let key: { keyArn: string };
let transcriptPath: string;

beforeAll(async () => {
  ws = await workspace();
  const alice = await custodian(ws.path('alice.txt'));
  const bob = await custodian(ws.path('bob.txt'));
  const r = await run(['onboard', ...ws.target, '--yes', '--json', '--alias', 'alias/printed', '--expires-in', '30d', '--recipient', `alice=${alice.recipient}`, '--recipient', `bob=${bob.recipient}`, '--escrow-dir', ws.path('escrow')]);
  expect(r.code, r.stderr).toBe(0);
  key = r.json();
  const escrowFile = r.json<{ escrow: { path: string } }>().escrow.path;
  const ack = await run(['escrow', 'acknowledge', escrowFile, '--identity', alice.path, '--name', 'Alice <script>alert(1)</script> & Co']);
  expect(ack.code, ack.stderr).toBe(0);
  transcriptPath = ws.path('escrow/transcript.md');
});
afterAll(async () => ws?.close());

/** What the transcript itself says: the onboard entry's check values and key, and the chain head. */
function recorded(): { checks: string[]; keyArn: string; head: string } {
  const text = readFileSync(transcriptPath, 'utf8');
  const onboard = parseEntries(text).find((x) => x.ceremony === 'onboard')!;
  const checks = (onboard.fields.find(([k]) => k === 'check values')![1] as string[]).map((l) => /: (\S+)/.exec(l)![1]!);
  return { checks, keyArn: onboard.fields.find(([k]) => k === 'key')![1] as string, head: verifyTranscript(text).head! };
}

/** `data-check-value="…"`, `data-field="key-arn">…<` etc., read from HTML (escaped values unescaped). */
function fromHtml(html: string): { checks: string[]; keyArns: string[]; heads: string[] } {
  const un = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
  return {
    checks: [...html.matchAll(/data-check-value="([^"]*)"/g)].map((m) => un(m[1]!)),
    keyArns: [...html.matchAll(/data-field="key-arn">([^<]*)</g)].map((m) => un(m[1]!)),
    heads: [...html.matchAll(/data-field="chain-head">([^<]*)</g)].map((m) => un(m[1]!)),
  };
}

describe('transcript render --html', () => {
  it('writes one self-contained page with the facts, the acknowledgement and who has not acknowledged; every value escaped', async () => {
    const r = await run(['transcript', 'render', transcriptPath, '--html', '--escrow-dir', ws.path('escrow'), '--out', ws.path('record.html')]);
    expect(r.code, r.stderr).toBe(0);
    const html = readFileSync(ws.path('record.html'), 'utf8');
    const want = recorded();
    const got = fromHtml(html);
    expect(got.checks).toEqual(want.checks);
    expect(got.keyArns).toEqual([key.keyArn]);
    expect(got.heads).toEqual([want.head]);
    // Self-contained: no script, nothing that fetches (URLs appear only as escaped text, e.g. the target).
    expect(html).not.toMatch(/<script|<link|<img|<iframe|<object|\s(src|href|action)=|@import|url\(/i);
    expect(html).toContain("default-src 'none'");
    // The acknowledgement's name is escaped, not markup.
    expect(html).toContain('Alice &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co');
    expect(html).toMatch(/bob <span[^>]*>age1[0-9a-z]+<\/span><\/td><td><strong>not yet acknowledged<\/strong>/);
    expect(html).toContain('AWS caller');
    expect(html).toMatch(/arn:aws:iam::\d{12}:user\//);
    expect(html.match(/name, signature, date/g)).toHaveLength(5); // alice, bob, the operator, two witnesses
    // Never overwritten.
    const again = await run(['transcript', 'render', transcriptPath, '--html', '--out', ws.path('record.html')]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already exists');
  });

  it('--ceremony N renders that entry only; out of range and a broken chain are refused', async () => {
    const one = await run(['transcript', 'render', transcriptPath, '--html', '--ceremony', '1']);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout.match(/<section class="ceremony"/g)).toHaveLength(1);
    const out = await run(['transcript', 'render', transcriptPath, '--html', '--ceremony', '9']);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('ERR_INVALID_ARGUMENT');
    const noFormat = await run(['transcript', 'render', transcriptPath]);
    expect(noFormat.code).toBe(2);
    expect(noFormat.stderr).toContain('--html');
    const edited = readFileSync(transcriptPath, 'utf8').replace('alias/printed', 'alias/forged');
    writeFileSync(ws.path('edited.md'), edited);
    const broken = await run(['transcript', 'render', ws.path('edited.md'), '--html', '--out', ws.path('edited.html')]);
    expect(broken.code).toBe(3);
    expect(broken.stderr).toContain('broken at entry 1');
    expect(existsSync(ws.path('edited.html'))).toBe(false);
  });

  it.skipIf(!hasChromium)('opens in headless Chromium: a screenshot and a PDF are made, and the DOM holds the transcript\'s check values, ARN and head', async () => {
    const page = ws.path('record.html');
    if (!existsSync(page)) {
      const r = await run(['transcript', 'render', transcriptPath, '--html', '--escrow-dir', ws.path('escrow'), '--out', page]);
      expect(r.code, r.stderr).toBe(0);
    }
    const profile = mkdtempSync(join(tmpdir(), 'kms-byok-chromium-'));
    const common = [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`,
    ];
    const png = ws.path('record.png');
    const pdf = ws.path('record.pdf');
    const shot = spawnSync(CHROMIUM, [...common, `--screenshot=${png}`, '--window-size=1024,1400', `file://${page}`], { encoding: 'utf8', timeout: 120_000 });
    expect(existsSync(png), shot.stderr).toBe(true);
    const print = spawnSync(CHROMIUM, [...common, `--print-to-pdf=${pdf}`, '--no-pdf-header-footer', `file://${page}`], { encoding: 'utf8', timeout: 120_000 });
    expect(existsSync(pdf), print.stderr).toBe(true);
    // Non-trivial: a PNG and a PDF by their signatures, with more than a blank page's bytes.
    expect(readFileSync(png).subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect(statSync(png).size).toBeGreaterThan(20_000);
    expect(readFileSync(pdf).subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(statSync(pdf).size).toBeGreaterThan(10_000);
    const dom = spawnSync(CHROMIUM, [...common, '--dump-dom', `file://${page}`], { encoding: 'utf8', timeout: 120_000, maxBuffer: 16 << 20 });
    expect(dom.status, dom.stderr).toBe(0);
    const want = recorded();
    const got = fromHtml(dom.stdout);
    expect(got.checks).toEqual(want.checks);
    expect(got.keyArns).toEqual([key.keyArn]);
    expect(got.heads).toEqual([want.head]);
  }, 300_000);
});
