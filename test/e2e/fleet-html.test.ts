/**
 * The fleet picture (`status --plan … --format html`, docs/fleet.md "The fleet picture"): one
 * self-contained page — nothing in it can fetch (no src/href/url(), a CSP of default-src 'none') —
 * opened in headless Chromium: a screenshot is made, and the rendered DOM lists every key of the plan
 * with the ValidTo KMS reports. Skipped, with the reason printed, where chromium is not installed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { run, workspace, type Workspace } from './harness.js';
import { custodian } from './identities.js';
import { createFleet } from './fleet-helpers.js';

const CHROMIUM = '/usr/bin/chromium';
let ws: Workspace;
let keys: { keyId: string; region: string; profile?: string }[];
let plan: string;

beforeAll(async () => {
  ws = await workspace();
  const alice = await custodian(ws.path('alice.txt'));
  keys = [...(await createFleet(ws.emu.endpoint, ws.dir, alice.recipient, ['us-east-1', 'eu-west-1'], 3))];
  plan = ws.path('fleet.json');
  // warnDays 45: every key (ValidTo in 30 days) needs attention.
  writeFileSync(plan, JSON.stringify({ version: 1, defaults: { escrowDir: 'escrow', warnDays: 45 }, keys: keys.map((k) => ({ key: k.keyId, region: k.region })) }));
}, 120_000);

afterAll(async () => ws?.close());

describe('status --plan --format html', () => {
  it('writes one self-contained page with every key, its expiry, the attention list and escrow coverage', async () => {
    const out = ws.path('fleet.html');
    const r = await run(['status', '--plan', plan, '--format', 'html', '--out', out, '--endpoint-url', ws.emu.endpoint], { cwd: ws.dir });
    expect(r.code, r.stderr).toBe(3); // every key within warnDays
    expect(r.stdout).toBe('');
    const page = readFileSync(out, 'utf8');
    expect(statSync(out).mode & 0o777).toBe(0o600);
    // Nothing that fetches: no src/href, no CSS url() or @import, no <link>/<script>; a CSP forbids it anyway.
    expect(page).not.toMatch(/\s(src|href)=|url\(|@import|<link|<script/i);
    expect(page).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
    expect(page).toContain('<svg');
    expect(page).toContain('Escrow coverage: 6/6');
    for (const k of keys) expect(page).toContain(k.keyId);

    const bad = await run(['status', '--plan', plan, '--out', out, '--endpoint-url', ws.emu.endpoint], { cwd: ws.dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--format html');
  });

  it.skipIf(!existsSync(CHROMIUM))('renders in headless Chromium: a screenshot, and the DOM lists every key with the ValidTo KMS reports', async () => {
    const out = ws.path('fleet2.html');
    const r = await run(['status', '--plan', plan, '--format', 'html', '--out', out, '--endpoint-url', ws.emu.endpoint], { cwd: ws.dir });
    expect(r.code, r.stderr).toBe(3);
    const profile = mkdtempSync(join(tmpdir(), 'kms-byok-chromium-'));
    const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--window-size=1400,1000'];
    const shot = ws.path('fleet.png');
    execFileSync(CHROMIUM, [...flags, `--screenshot=${shot}`, `file://${out}`], { stdio: 'ignore', timeout: 120_000 });
    const png = readFileSync(shot);
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(png.readUInt32BE(16)).toBe(1400); // IHDR width
    const dom = execFileSync(CHROMIUM, [...flags, '--dump-dom', `file://${out}`], { encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'ignore'] });
    const rows = [...dom.matchAll(/<tr class="key-row" data-key="([^"]+)">(.*?)<\/tr>/g)].map((m) => ({ keyId: m[1]!, expiry: /<td class="expiry">([^<]*)<\/td>/.exec(m[2]!)?.[1] }));
    expect(rows.map((x) => x.keyId).sort()).toEqual(keys.map((k) => k.keyId).sort());
    for (const k of keys) {
      const c = new KMSClient({ region: k.region, endpoint: ws.emu.endpoint, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' } });
      try {
        const validTo = (await c.send(new DescribeKeyCommand({ KeyId: k.keyId }))).KeyMetadata!.ValidTo!;
        expect(Date.parse(rows.find((x) => x.keyId === k.keyId)!.expiry!)).toBe(validTo.getTime());
      } finally {
        c.destroy();
      }
    }
    expect(dom).toMatch(/Needs attention \(6\)/);
    console.log(`fleet picture screenshot: ${shot} (${png.length} bytes)`);
    rmSync(profile, { recursive: true, force: true });
  });
  if (!existsSync(CHROMIUM)) console.log(`skipped the Chromium check: ${CHROMIUM} is not installed (apt-get install chromium)`);
});
