/**
 * AWS_DEFAULT_REGION (what the aws CLI reads) counts as pointing at AWS, so it must also be the Region
 * the command uses: with only AWS_ENDPOINT_URL_KMS and AWS_DEFAULT_REGION set, a command runs there
 * instead of failing with "no AWS Region configured". AWS_REGION wins when both are set (the SDK's rule).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, workspace, type Workspace } from './harness.js';

let ws: Workspace;
beforeAll(async () => {
  ws = await workspace('eu-west-1');
});
afterAll(async () => {
  await ws.close();
});

describe('AWS_DEFAULT_REGION', () => {
  it('is the Region when AWS_REGION is unset', async () => {
    const r = await run(['status', '--json', '--escrow-dir', ws.path('escrow')], { env: { AWS_ENDPOINT_URL_KMS: ws.emu.endpoint, AWS_DEFAULT_REGION: 'eu-west-1' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/no AWS Region/);
    expect(ws.emu.requests.at(-1)?.region).toBe('eu-west-1');
  });

  it('yields to AWS_REGION', async () => {
    const r = await run(['status', '--json', '--escrow-dir', ws.path('escrow')], { env: { AWS_ENDPOINT_URL_KMS: ws.emu.endpoint, AWS_DEFAULT_REGION: 'eu-west-1', AWS_REGION: 'eu-central-1' } });
    expect(r.code, r.stderr).toBe(0);
    expect(ws.emu.requests.at(-1)?.region).toBe('eu-central-1');
  });
});
