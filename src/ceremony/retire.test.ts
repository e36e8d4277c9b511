/**
 * retire over stub ports: what the emulator cannot produce — a DisableKey whose answer was lost — and
 * the order of checks (nothing mutating before every check and the confirmation).
 */
import { describe, expect, it } from 'vitest';
import { KmsByokError } from '../core/errors.js';
import type { KeyInfo, KmsPort } from '../kms/port.js';
import { STUB_KEY } from './ceremony.test.helpers.js';
import type { CloudTrailPort } from '../kms/cloudtrail-port.js';
import { openedEscrowCoverage, runRetire, type RetireDeps } from './retire.js';
import type { EscrowRef } from './shared.js';

const KEY: KeyInfo = { ...STUB_KEY, Origin: 'AWS_KMS' };

function setup(afterLostAnswer: KeyInfo['KeyState']) {
  const calls: string[] = [];
  let state: KeyInfo['KeyState'] = 'Enabled';
  const kms = {
    region: 'us-east-1',
    describeKey: async () => (calls.push('describeKey'), { ...KEY, KeyState: state }),
    listAliases: async () => (calls.push('listAliases'), []),
    getKeyLastUsage: async () => (calls.push('getKeyLastUsage'), { KeyId: KEY.Arn, TrackingStartDate: new Date('2026-01-01T00:00:00Z') }),
    disableKey: async () => {
      calls.push('disableKey');
      state = afterLostAnswer;
      throw new KmsByokError('ERR_KMS_UNREACHABLE', 'DisableKey: socket hang up');
    },
  } as unknown as KmsPort;
  const trail: CloudTrailPort = { lookupKeyEvents: async () => (calls.push('lookupKeyEvents'), []) };
  const deps: RetireDeps = {
    kms,
    trail,
    now: () => new Date('2026-11-22T00:00:00Z'),
    escrowCoverage: async () => ({ applies: false, covered: false }),
    confirm: async () => void calls.push('confirm'),
    progress: () => {},
  };
  return { calls, deps };
}

describe('retire: a lost answer', () => {
  it('is settled by DescribeKey: KMS shows the key Disabled, so the step is reported done', async () => {
    const { calls, deps } = setup('Disabled');
    const r = await runRetire({ key: KEY.KeyId, action: 'disable', quietForMs: 30 * 86_400_000, force: false, withoutEscrow: false }, deps);
    expect(r.stateAfter).toBe('Disabled');
    expect(calls.indexOf('confirm')).toBeLessThan(calls.indexOf('disableKey'));
    expect(calls.slice(calls.indexOf('disableKey'))).toEqual(['disableKey', 'describeKey', 'describeKey']);
  });

  it('says the outcome is unknown when KMS does not show the change', async () => {
    const { deps } = setup('Enabled');
    await expect(runRetire({ key: KEY.KeyId, action: 'disable', quietForMs: 30 * 86_400_000, force: false, withoutEscrow: false }, deps)).rejects.toThrow(/the outcome is unknown \(KMS shows the key Enabled\)/);
  });

  it('refuses before confirming or changing anything when CloudTrail is missing', async () => {
    const { calls, deps } = setup('Disabled');
    const r = runRetire({ key: KEY.KeyId, action: 'disable', quietForMs: 30 * 86_400_000, force: false, withoutEscrow: false }, { ...deps, trail: undefined, trailMissingReason: 'ERR_TRAIL_UNAVAILABLE: AccessDenied' });
    await expect(r).rejects.toMatchObject({ code: 'ERR_RETIRE_REFUSED', message: expect.stringMatching(/incomplete: ERR_TRAIL_UNAVAILABLE: AccessDenied/) });
    expect(calls).not.toContain('confirm');
    expect(calls).not.toContain('disableKey');
  });
});

describe('retire --schedule-deletion: the escrow of an EXTERNAL key', () => {
  const external: KeyInfo = { ...KEY, Origin: 'EXTERNAL', KeyState: 'Disabled', Enabled: false };
  const ID = 'a'.repeat(64);
  const kms = { region: 'us-east-1', listKeyRotations: async () => [{ KeyMaterialId: ID, ImportState: 'IMPORTED', KeyMaterialState: 'CURRENT' }] } as unknown as KmsPort;
  const ref = { path: 'escrow/k.v1.age', sidecarPath: 'escrow/k.v1.age.json', damaged: [], sidecar: { manifest: { keyId: KEY.KeyId }, materials: [{ index: 1, keyMaterialId: ID }] } } as unknown as EscrowRef;

  it('is not covered without an opener, however well the sidecar matches; open is never called', async () => {
    let opened = 0;
    const c = await openedEscrowCoverage(kms, external, { latest: async () => ref, open: async () => (opened++, Promise.reject(new Error('unreachable'))) }, false);
    expect(c).toMatchObject({ applies: true, covered: false, problem: expect.stringMatching(/was not opened \(no --identity/) });
    expect(opened).toBe(0);
  });

  it('is not covered when opening fails (a forged file whose hash the sidecar records)', async () => {
    const open = async (): Promise<never> => {
      throw new KmsByokError('ERR_ESCROW_TAMPERED', 'not an age file');
    };
    const c = await openedEscrowCoverage(kms, external, { latest: async () => ref, open }, true);
    expect(c).toMatchObject({ covered: false, problem: 'ERR_ESCROW_TAMPERED: not an age file' });
  });

  it('--force does not override an escrow that is not covered: nothing is confirmed or scheduled', async () => {
    const calls: string[] = [];
    const deps: RetireDeps = {
      kms: {
        region: 'us-east-1',
        describeKey: async () => external,
        listAliases: async () => [],
        getKeyLastUsage: async () => ({ KeyId: KEY.Arn, TrackingStartDate: new Date('2026-01-01T00:00:00Z') }),
        scheduleKeyDeletion: async () => (calls.push('scheduleKeyDeletion'), { DeletionDate: new Date() }),
      } as unknown as KmsPort,
      trail: { lookupKeyEvents: async () => [] },
      now: () => new Date('2026-11-22T00:00:00Z'),
      escrowCoverage: async () => ({ applies: true, covered: false, problem: 'not opened' }),
      confirm: async () => void calls.push('confirm'),
      progress: () => {},
    };
    const r = runRetire({ key: KEY.KeyId, action: 'schedule-deletion', pendingWindowDays: 7, quietForMs: 30 * 86_400_000, force: true, withoutEscrow: false }, deps);
    await expect(r).rejects.toMatchObject({ code: 'ERR_RETIRE_REFUSED', message: expect.stringMatching(/does not cover every material/) });
    expect(calls).toEqual([]);
  });
});
