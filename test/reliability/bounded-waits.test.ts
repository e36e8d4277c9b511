/**
 * Bounded waits (docs/reliability.md, "Bounded waits"), against the built CLI and the emulator's
 * `drip` and `loop-marker` faults:
 *   - an endpoint that answers one byte a second never trips an idle-socket timeout; each attempt's
 *     whole-request deadline (`--read-timeout`) ends the call with a timeout error code;
 *   - SIGTERM while such a call waits ends the command with 143, without waiting for the deadline;
 *   - a List* answer that is `Truncated` with the same marker forever stops paging with an error.
 * No elapsed time is asserted beyond a bound that only catches "forever" (the drip alone would take
 * minutes to answer).
 */
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspace, type Workspace } from '../e2e/harness.js';
import { cli } from './spawn.js';

let ws: Workspace;
beforeAll(async () => {
  ws = await workspace();
  // A few keys, so ListKeys' answer is hundreds of bytes: minutes at one byte a second.
  for (let i = 0; i < 3; i++) await ws.kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }));
}, 60_000);
afterAll(async () => ws?.close());

describe('bounded waits', () => {
  it('status --read-timeout 2 against an endpoint dripping one byte a second ends with a timeout error', async () => {
    const fault = ws.emu.faults.add({ operation: 'ListKeys', kind: 'drip', delayMs: 1000, times: Infinity });
    try {
      const started = Date.now();
      const r = await cli(ws, ['status', ...ws.target, '--read-timeout', '2']);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/^kms-byok: code: ERR_KMS_UNREACHABLE$/m);
      expect(ws.emu.faults.list().find((f) => f.id === fault.id)!.fired, 'the drip was served').toBeGreaterThanOrEqual(1);
      // 3 attempts × 2 s + backoff; the dripped answer alone would take minutes.
      expect(Date.now() - started).toBeLessThan(40_000);
    } finally {
      ws.emu.faults.remove(fault.id);
    }
  }, 90_000);

  /**
   * `status --read-timeout 600` against a ListKeys answer dripped one byte a second, SIGTERMed
   * `delayMs` after the emulator received the request; returns the run, its time and how often the drip fired.
   */
  async function sigtermDuringDrip(delayMs: number): Promise<{ r: Awaited<ReturnType<typeof cli>>; elapsedMs: number; fired: number }> {
    const fault = ws.emu.faults.add({ operation: 'ListKeys', kind: 'drip', delayMs: 1000, times: Infinity });
    const registry = ws.emu.faults as unknown as { select(operation: string, region: string): unknown };
    const select = registry.select.bind(registry);
    let child: { kill(s: NodeJS.Signals): boolean } | undefined;
    registry.select = (operation, region) => {
      if (operation === 'ListKeys') {
        if (delayMs === 0) child?.kill('SIGTERM');
        else setTimeout(() => child?.kill('SIGTERM'), delayMs);
      }
      return select(operation, region);
    };
    try {
      const started = Date.now();
      const r = await cli(ws, ['status', ...ws.target, '--read-timeout', '600'], { onSpawn: (c) => (child = c) });
      return { r, elapsedMs: Date.now() - started, fired: ws.emu.faults.list().find((f) => f.id === fault.id)!.fired };
    } finally {
      registry.select = select;
      ws.emu.faults.remove(fault.id);
    }
  }

  it('SIGTERM while a call waits on a dripping endpoint ends the command with 143 at once', async () => {
    // Signal when the emulator receives the request: the command is then waiting for its answer.
    const { r, elapsedMs } = await sigtermDuringDrip(0);
    expect(r.code, r.stderr).toBe(143);
    expect(r.stderr).toMatch(/^kms-byok: interrupted by SIGTERM: stopped by SIGTERM during ListKeys \(a read: nothing changed by it\)/m);
    expect(r.stderr).toContain(`kms-byok: hint: re-run the same command to finish: kms-byok status ${ws.target.join(' ')} --read-timeout 600`);
    // The deadline is 600 s per attempt: only the signal can have ended it within this bound.
    expect(elapsedMs).toBeLessThan(60_000);
  }, 90_000);

  it('SIGTERM while the answer\'s body drips in (headers already read) ends the command with 143 at once', async () => {
    // The drip writes the headers at once, then one byte a second: 1.5 s after the request arrived the
    // command is reading the body (were it still waiting for headers, the signal must end it too).
    const { r, elapsedMs, fired } = await sigtermDuringDrip(1500);
    expect(r.code, r.stderr).toBe(143);
    expect(r.stderr).toMatch(/^kms-byok: interrupted by SIGTERM: stopped by SIGTERM during ListKeys \(a read: nothing changed by it\)/m);
    expect(elapsedMs).toBeLessThan(60_000);
    expect(fired, 'the drip was served').toBeGreaterThanOrEqual(1);
  }, 90_000);

  it('a List* answer Truncated with the same marker forever stops paging with ERR_KMS_BAD_RESPONSE', async () => {
    const fault = ws.emu.faults.add({ operation: 'ListKeys', kind: 'loop-marker', times: Infinity });
    const before = ws.emu.requests.filter((x) => x.operation === 'ListKeys').length;
    try {
      const r = await cli(ws, ['status', ...ws.target]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/ListKeys: unexpected response: NextMarker .* repeated/);
      expect(r.stderr).toMatch(/^kms-byok: code: ERR_KMS_BAD_RESPONSE$/m);
      const sent = ws.emu.requests.filter((x) => x.operation === 'ListKeys').length - before;
      // The page cap is 1,000; a repeated marker stops at the second page.
      expect(sent).toBeGreaterThanOrEqual(2);
      expect(sent).toBeLessThanOrEqual(1_003);
    } finally {
      ws.emu.faults.remove(fault.id);
    }
  }, 60_000);
});
