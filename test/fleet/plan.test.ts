/**
 * Fleet plan parsing (src/fleet/plan.ts): every problem of a plan is listed at once, before
 * anything runs; defaults and paths resolve as documented.
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fc, test as prop } from '@fast-check/vitest';
import { parsePlan, planProblems, requireForCommand } from '../../src/fleet/plan.js';

const RUNS = process.env.SLOW ? 500 : 60;
const NOW = new Date('2026-11-22T00:00:00Z');
const FILES = new Set(['/plans/escrow', '/plans/custodian.txt', '/plans/escrow/k.v1.age', '/plans/pass.txt']);
const ctx = { baseDir: '/plans', exists: (p: string) => FILES.has(p), now: NOW, resolvePath: resolve };
const id = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;

function problemsOf(doc: unknown): string[] {
  try {
    parsePlan(JSON.stringify(doc), ctx);
    return [];
  } catch (e) {
    const p = planProblems(e);
    if (!p) throw e;
    return p;
  }
}

describe('fleet plans', () => {
  it('applies defaults, resolves paths against the plan directory, and keeps entry order', () => {
    const plan = parsePlan(
      JSON.stringify({
        version: 1,
        defaults: { region: 'eu-west-1', expiresIn: '90d', identity: 'custodian.txt', warnDays: 14 },
        keys: [{ key: id(1) }, { key: id(2), region: 'us-east-1', profile: 'prod', noExpiry: true, escrow: 'k.v1.age', passphraseFile: 'pass.txt', maxAge: '365d' }],
      }),
      ctx,
    );
    expect(plan.entries[0]).toMatchObject({ index: 0, region: 'eu-west-1', escrowDir: '/plans/escrow', identities: ['/plans/custodian.txt'], warnDays: 14, expiry: { expiresInMs: 90 * 86_400_000 } });
    expect(plan.entries[1]).toMatchObject({ profile: 'prod', region: 'us-east-1', escrow: '/plans/escrow/k.v1.age', passphraseFile: '/plans/pass.txt', expiry: { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }, maxAgeMs: 365 * 86_400_000 });
    expect(plan.entries[1]!.id).toBe(`prod/us-east-1/${id(2)}`);
  });

  it('lists every problem together: duplicates, unknown fields, missing escrow, expiry AWS would reject', () => {
    const problems = problemsOf({
      version: 1,
      extra: true,
      defaults: { region: 'eu-west-1', expiresIn: '90d', colour: 'red' },
      keys: [
        { key: id(1) },
        { key: id(1) },
        { key: id(2), escrowDir: 'nowhere' },
        { key: id(3), expiresIn: '400d' },
        { key: id(4), validTo: '2020-01-01T00:00:00Z' },
        { key: id(5), escrow: 'missing.v1.age' },
        { key: id(6), identity: 'nobody.txt' },
        { key: id(7), typo: 1 },
        { region: 'us-east-1' },
        { key: id(8), expiresIn: '30d', noExpiry: true },
      ],
    });
    expect(problems).toEqual([
      'unknown field "extra" (known: version, defaults, keys)',
      expect.stringContaining('defaults: unknown field "colour"'),
      'keys[1]: duplicate key 00000000-0000-4000-8000-000000000001 in eu-west-1: also keys[0]',
      'keys[2]: escrow directory /plans/nowhere does not exist',
      'keys[3]: "expiresIn" 400d is more than 365 days: AWS rejects a ValidTo further ahead',
      'keys[4]: "validTo" 2020-01-01T00:00:00Z is in the past: AWS rejects it',
      'keys[5]: escrow file /plans/escrow/missing.v1.age does not exist',
      'keys[6]: identity file /plans/nobody.txt does not exist',
      expect.stringContaining('keys[7]: unknown field "typo"'),
      'keys[8]: missing "key" (a key id, ARN or alias/NAME)',
      'keys[9]: give only one of "expiresIn", "validTo" and "noExpiry"',
    ]);
  });

  it('reimport and restore need an expiry policy and an identity source; status needs neither', () => {
    const plan = parsePlan(JSON.stringify({ version: 1, keys: [{ key: id(1), region: 'us-east-1' }] }), ctx);
    expect(() => requireForCommand(plan, 'status')).not.toThrow();
    let problems: string[] | undefined;
    try {
      requireForCommand(plan, 'reimport');
    } catch (e) {
      problems = planProblems(e);
    }
    expect(problems).toEqual([expect.stringContaining('needs an expiry policy'), expect.stringContaining('needs a custodian identity source')]);
  });

  it('the documented example plan (fixtures/plans/example.json, docs/fleet.md) parses', async () => {
    const { readFileSync } = await import('node:fs');
    const text = readFileSync(new URL('../../fixtures/plans/example.json', import.meta.url), 'utf8');
    const plan = parsePlan(text, { ...ctx, exists: () => true });
    expect(plan.entries.map((e) => e.id)).toEqual([
      '/eu-west-1/1234abcd-12ab-34cd-56ef-1234567890ab',
      'prod/us-east-1/alias/payments',
      '/ap-southeast-2/arn:aws:kms:ap-southeast-2:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab',
    ]);
    expect(() => requireForCommand(plan, 'reimport')).not.toThrow();
  });

  it('not JSON, or not a plan, is one clear problem', () => {
    expect(problemsOf('x')[0]).toContain('must be a JSON object');
    expect(() => parsePlan('{', ctx)).toThrow(expect.objectContaining({ code: 'ERR_PLAN_INVALID' }));
  });

  type Fault = 'ok' | 'unknown' | 'duplicate' | 'escrow' | 'expiry';
  prop.prop([fc.array(fc.constantFrom<Fault>('ok', 'ok', 'unknown', 'duplicate', 'escrow', 'expiry'), { minLength: 1, maxLength: 40 })], { numRuns: RUNS })(
    'every faulty entry is named in the one error, and a plan without faults parses',
    (faults) => {
      const keys = faults.map((f, i) => {
        const e: Record<string, unknown> = { key: f === 'duplicate' && i > 0 ? id(0) : id(i + 1), region: 'us-east-1', expiresIn: '90d' };
        if (f === 'duplicate' && i === 0) e.key = id(0);
        if (f === 'unknown') e.colour = 'red';
        if (f === 'escrow') e.escrowDir = 'missing';
        if (f === 'expiry') e.expiresIn = '366d';
        return e;
      });
      const problems = problemsOf({ version: 1, keys });
      const faulty = faults.map((f, i) => (f === 'duplicate' ? (i === 0 || faults.slice(0, i).every((g) => g !== 'duplicate') ? 'ok' : f) : f)).map((f, i) => [f, i] as const).filter(([f]) => f !== 'ok');
      for (const [, i] of faulty) expect(problems.some((p) => p.startsWith(`keys[${i}]:`)), `keys[${i}] in ${JSON.stringify(problems)}`).toBe(true);
      if (faulty.length === 0) expect(problems).toEqual([]);
    },
  );
});
