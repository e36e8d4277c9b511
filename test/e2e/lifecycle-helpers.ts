/** Helpers shared by the lifecycle end-to-end tests. */
import { expect } from 'vitest';
import { run, type Workspace } from './harness.js';

const DAY = 86_400_000;

/** Onboards a key with `recipient` as custodian into `<ws>/escrow`; returns onboard's JSON. */
export async function onboardKey(w: Workspace, recipient: string, extra: string[] = []): Promise<{ keyId: string; keyArn: string; escrow: { path: string } }> {
  const r = await run(['onboard', ...w.target, '--yes', '--json', '--recipient', recipient, '--escrow-dir', w.path('escrow'), ...extra]);
  expect(r.code, r.stderr).toBe(0);
  return r.json();
}

/** A ValidTo `days` ahead of the EMULATOR clock (the tests move it; the CLI's clock is real time). */
export function emuValidTo(w: Workspace, days: number): string {
  return new Date(w.emu.clock.now().getTime() + days * DAY).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
