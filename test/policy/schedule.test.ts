/**
 * `kms-byok schedule`: the systemd unit + timer (systemd-analyze verify when the machine has it, and
 * always a strict INI check), the crontab line (a strict 5-field validator written here), the
 * Kubernetes CronJob (YAML parsed by PyYAML when present, and the --json form always), and the
 * refusals of schedules that would prompt.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { toYaml } from '../../src/policy/schedule.js';
import { cli } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'kms-byok-schedule-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BASE = ['--key', 'alias/payments', '--identity', '/etc/kms-byok/custodian.txt', '--escrow-dir', '/var/lib/kms-byok/escrow', '--region', 'eu-west-1'];
const REIMPORT_ARGS = 'reimport alias/payments --before 30d --expires-in 90d';

/** A strict INI reader: sections, `Key=Value` lines, comments; anything else fails. */
function parseIni(text: string): Map<string, [string, string][]> {
  const sections = new Map<string, [string, string][]>();
  let current: [string, string][] | undefined;
  text.split('\n').forEach((line, i) => {
    if (line === '' || line.startsWith('#')) return;
    const sec = /^\[([A-Za-z]+)\]$/.exec(line);
    if (sec) {
      expect(sections.has(sec[1]!), `duplicate section ${sec[1]}`).toBe(false);
      current = [];
      sections.set(sec[1]!, current);
      return;
    }
    const kv = /^([A-Za-z]+)=(\S.*)$/.exec(line);
    expect(kv, `line ${i + 1} is not Key=Value: ${line}`).not.toBeNull();
    expect(current, `line ${i + 1} outside a section`).toBeDefined();
    current!.push([kv![1]!, kv![2]!]);
  });
  return sections;
}
const get = (s: [string, string][] | undefined, key: string) => s?.filter(([k]) => k === key).map(([, v]) => v) ?? [];

/** Strict 5-field cron: minute hour dom month dow; `*`, numbers, ranges, lists, steps within bounds. */
function validCron(expr: string): boolean {
  const fields = expr.split(' ');
  const bounds = [
    [0, 59],
    [0, 23],
    [1, 31],
    [1, 12],
    [0, 7],
  ];
  if (fields.length !== 5) return false;
  return fields.every((f, i) =>
    f.split(',').every((part) => {
      const m = /^(?:\*|(\d+)(?:-(\d+))?)(?:\/([1-9]\d*))?$/.exec(part);
      if (!m) return false;
      const [lo, hi] = bounds[i]!;
      const a = m[1] === undefined ? lo! : Number(m[1]);
      const b = m[2] === undefined ? a : Number(m[2]);
      return a >= lo! && b <= hi! && a <= b;
    }),
  );
}

describe('the test validators themselves', () => {
  it('validCron rejects what cron rejects', () => {
    for (const ok of ['17 3 * * *', '*/15 * * * 1-5', '0 0 1,15 * 0', '0 0 * 12 7']) expect(validCron(ok), ok).toBe(true);
    for (const bad of ['17 3 * *', '60 3 * * *', '0 24 * * *', '0 0 0 * *', '0 0 * 13 *', '*/0 * * * *', '5-1 * * * *', '@daily', '0 0 * * MON']) {
      expect(validCron(bad), bad).toBe(false);
    }
  });
});

describe('schedule --print systemd', () => {
  it('prints a oneshot service that runs the exact unattended reimport, and its timer', async () => {
    const r = await cli(['schedule', '--print', 'systemd', ...BASE, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const units = JSON.parse(r.stdout) as { serviceName: string; timerName: string; service: string; timer: string };
    expect(units.serviceName).toBe('kms-byok-reimport.service');
    const service = parseIni(units.service);
    const svc = service.get('Service');
    expect(get(svc, 'Type')).toEqual(['oneshot']);
    expect(get(svc, 'ExecStart')).toEqual([
      `/usr/local/bin/kms-byok ${REIMPORT_ARGS} --identity %d/identity --escrow-dir /var/lib/kms-byok/escrow --region eu-west-1`,
    ]);
    expect(get(svc, 'LoadCredential')).toEqual(['identity:/etc/kms-byok/custodian.txt']);
    expect(get(svc, 'ReadWritePaths')).toEqual(['/var/lib/kms-byok/escrow']);
    expect(get(svc, 'Environment')).toEqual(['CI=true']);
    expect(get(svc, 'User')).toEqual(['kms-byok']);
    // The process holds key material: the unit forbids core dumps.
    expect(get(svc, 'LimitCORE')).toEqual(['0']);
    const timer = parseIni(units.timer);
    expect(get(timer.get('Timer'), 'OnCalendar')).toEqual(['*-*-* 03:17:00']);
    expect(get(timer.get('Timer'), 'Unit')).toEqual(['kms-byok-reimport.service']);
    expect(get(timer.get('Timer'), 'Persistent')).toEqual(['true']);
    expect(get(timer.get('Install'), 'WantedBy')).toEqual(['timers.target']);
  });

  const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  it.skipIf(analyze.status !== 0)('passes systemd-analyze verify (and calendar)', async () => {
    const bin = join(dir, 'kms-byok');
    writeFileSync(bin, '#!/bin/sh\nexit 0\n');
    chmodSync(bin, 0o755);
    const identity = join(dir, 'custodian.txt');
    writeFileSync(identity, 'AGE-SECRET-KEY-1TEST\n', { mode: 0o600 });
    const escrow = join(dir, 'escrow');
    mkdirSync(escrow, { recursive: true });
    const r = await cli(['schedule', '--print', 'systemd', '--key', 'alias/payments', '--identity', identity, '--escrow-dir', escrow, '--bin', bin, '--user', 'root', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const units = JSON.parse(r.stdout) as { serviceName: string; timerName: string; service: string; timer: string };
    const unitDir = join(dir, 'units');
    mkdirSync(unitDir, { recursive: true });
    writeFileSync(join(unitDir, units.serviceName), units.service);
    writeFileSync(join(unitDir, units.timerName), units.timer);
    const out = spawnSync('systemd-analyze', ['verify', '--man=no', join(unitDir, units.serviceName), join(unitDir, units.timerName)], {
      encoding: 'utf8',
      env: { ...process.env, SYSTEMD_LOG_LEVEL: 'warning' },
    });
    // Only complaints about our two files count (a container without a running systemd adds unrelated noise).
    const ours = `${out.stdout}${out.stderr}`.split('\n').filter((l) => l.includes('kms-byok-reimport'));
    expect(ours, `${out.stdout}${out.stderr}`).toEqual([]);
    expect(out.status, `${out.stdout}${out.stderr}`).toBe(0);
    const cal = spawnSync('systemd-analyze', ['calendar', '*-*-* 03:17:00'], { encoding: 'utf8' });
    expect(cal.status, cal.stderr).toBe(0);
  });

  it('passes a passphrase file as the credential "passphrase"', async () => {
    const r = await cli(['schedule', '--print', 'systemd', '--key', 'k1', '--passphrase-file', '/etc/kms-byok/pass.txt', '--escrow-dir', '/srv/escrow']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('--passphrase-file %d/passphrase');
    expect(r.stdout).toContain('LoadCredential=passphrase:/etc/kms-byok/pass.txt');
    expect(r.stdout).toMatch(/^# kms-byok-reimport\.service\n\[Unit\]/);
  });
});

describe('schedule without a target', () => {
  it('says that the unattended run needs a Region or profile from its environment, or exits 2 (ERR_NO_TARGET)', async () => {
    const noRegion = BASE.filter((a, i) => a !== '--region' && BASE[i - 1] !== '--region');
    const r = await cli(['schedule', '--print', 'cron', ...noRegion]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('kms-byok: note: the scheduled run gets no --region or --profile');
    expect(r.stderr).toContain('ERR_NO_TARGET');
    const withRegion = await cli(['schedule', '--print', 'cron', ...BASE]);
    expect(withRegion.stderr).not.toContain('ERR_NO_TARGET');
  });
});

describe('schedule --print cron', () => {
  it('prints one crontab line with a valid 5-field schedule and the exact command', async () => {
    const r = await cli(['schedule', '--print', 'cron', ...BASE, '--cron', '*/30 1-5 * * 1-5']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^# kms-byok reimport: exit 0/);
    const fields = lines[1]!.split(' ');
    expect(validCron(fields.slice(0, 5).join(' '))).toBe(true);
    expect(fields.slice(0, 5).join(' ')).toBe('*/30 1-5 * * 1-5');
    // No core dumps of a process that holds key material: the limit is set before the command runs.
    expect(lines[1]).toContain(`*/30 1-5 * * 1-5 ulimit -c 0; CI=true /usr/local/bin/kms-byok `);
    expect(lines[1]).toContain(
      `CI=true /usr/local/bin/kms-byok ${REIMPORT_ARGS} --identity /etc/kms-byok/custodian.txt --escrow-dir /var/lib/kms-byok/escrow --region eu-west-1 >>/var/log/kms-byok/reimport.log 2>&1 || echo`,
    );
    expect(lines[1]).not.toContain('%'); // % is a newline in crontab
  });

  it('refuses an invalid cron expression (exit 2)', async () => {
    const r = await cli(['schedule', '--print', 'cron', ...BASE, '--cron', '61 * * * *']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is not a 5-field cron expression');
  });

  it('resolves relative paths against the working directory and reads keys from --keys-file', async () => {
    writeFileSync(join(dir, 'plan.txt'), '# keys\nalias/payments\n\narn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab  # ledger\n');
    const r = await cli(['schedule', '--print', 'cron', '--keys-file', 'plan.txt', '--identity', 'id.txt'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`reimport alias/payments arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab --before 30d`);
    expect(r.stdout).toContain(`--identity ${join(dir, 'id.txt')} --escrow-dir ${join(dir, 'escrow')}`);
  });
});

describe('schedule --print kubernetes', () => {
  const args = ['schedule', '--print', 'kubernetes', '--key', 'alias/payments', '--identity', '/home/ops/custodian.txt', '--region', 'eu-west-1', '--image', 'registry.example.com/kms-byok:0.1.0'];

  it('--json is a batch/v1 CronJob that runs the exact command with the identity mounted read-only', async () => {
    const r = await cli([...args, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const m = JSON.parse(r.stdout) as any;
    expect(m.apiVersion).toBe('batch/v1');
    expect(m.kind).toBe('CronJob');
    expect(validCron(m.spec.schedule)).toBe(true);
    expect(m.spec.concurrencyPolicy).toBe('Forbid');
    const job = m.spec.jobTemplate.spec;
    expect(job.podFailurePolicy.rules[0]).toEqual({ action: 'FailJob', onExitCodes: { containerName: 'kms-byok', operator: 'In', values: [2] } });
    const pod = job.template.spec;
    expect(pod.restartPolicy).toBe('Never');
    const c = pod.containers[0];
    expect([...c.command, ...c.args].join(' ')).toBe(
      `kms-byok ${REIMPORT_ARGS} --identity /etc/kms-byok/secret/identity --escrow-dir /var/lib/kms-byok/escrow --region eu-west-1`,
    );
    expect(c.volumeMounts).toContainEqual({ name: 'secret', mountPath: '/etc/kms-byok/secret', readOnly: true });
    expect(pod.volumes).toContainEqual({ name: 'secret', secret: { secretName: 'kms-byok-reimport-identity', defaultMode: 0o440, items: [{ key: 'identity', path: 'identity' }] } });
    expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
    // Kubernetes cannot set RLIMIT_CORE: the manifest says so instead of pretending.
    expect(m.metadata.annotations['kms-byok/core-dumps']).toMatch(/no securityContext setting for core dumps.*coredump_filter/);
    expect(r.stderr).toContain('kubectl create secret generic kms-byok-reimport-identity --from-file=identity=/home/ops/custodian.txt');
  });

  const pyyaml = spawnSync('python3', ['-c', 'import yaml'], { encoding: 'utf8' });
  it.skipIf(pyyaml.status !== 0)('the YAML form parses (PyYAML) to exactly the --json form', async () => {
    const [yaml, json] = await Promise.all([cli(args), cli([...args, '--json'])]);
    expect(yaml.code, yaml.stderr).toBe(0);
    const out = execFileSync('python3', ['-c', 'import sys, json, yaml; docs = [d for d in yaml.safe_load_all(sys.stdin)]; print(json.dumps(docs[0]))'], { input: yaml.stdout, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual(JSON.parse(json.stdout));
  });

  it('toYaml keeps look-alike strings as strings', () => {
    const text = toYaml({ a: 'no', b: '0755', c: ['1e3', 'true'], d: [], e: {}, f: [{ g: 1, h: [{ i: null }] }] });
    expect(text).toBe('a: "no"\nb: "0755"\nc:\n- "1e3"\n- "true"\nd: []\ne: {}\nf:\n- g: 1\n  h:\n  - i: null\n');
  });

  it('refuses without --image (exit 2)', async () => {
    const r = await cli(args.slice(0, -2));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('missing --image');
  });
});

describe('schedule refusals (exit 2, nothing printed)', () => {
  const cases: [string, string[], string][] = [
    ['no --identity or --passphrase-file', ['--print', 'systemd', '--key', 'k'], 'would prompt'],
    ['--passphrase-file - (stdin)', ['--print', 'cron', '--key', 'k', '--passphrase-file', '-'], 'no stdin'],
    ['a command that is not unattended', ['--print', 'cron', '--command', 'onboard', '--key', 'k', '--identity', '/x'], 'not an unattended command'],
    ['rotate', ['--print', 'systemd', '--command', 'rotate', '--key', 'k', '--identity', '/x'], 'not an unattended command'],
    ['no key', ['--print', 'systemd', '--identity', '/x'], 'missing --key'],
    ['no --print', ['--key', 'k', '--identity', '/x'], 'missing --print'],
    ['unknown format', ['--print', 'launchd', '--key', 'k', '--identity', '/x'], 'unknown --print'],
    ['--before not shorter than --expires-in', ['--print', 'cron', '--key', 'k', '--identity', '/x', '--before', '90d'], 'every run would re-import'],
    ['shell metacharacters', ['--print', 'cron', '--key', 'k;rm -rf /', '--identity', '/x'], 'cannot carry unquoted'],
  ];
  for (const [title, argv, message] of cases) {
    it(title, async () => {
      const r = await cli(['schedule', ...argv]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(message);
      expect(r.stderr).toMatch(/kms-byok: code: ERR_[A-Z_]+/);
    });
  }

  it('refusals of prompting schedules carry ERR_SCHEDULE_NOT_UNATTENDED', async () => {
    const r = await cli(['schedule', '--print', 'systemd', '--key', 'k']);
    expect(r.stderr).toContain('kms-byok: code: ERR_SCHEDULE_NOT_UNATTENDED');
  });

  it('status may be scheduled without an identity', async () => {
    const r = await cli(['schedule', '--print', 'cron', '--command', 'status', '--warn-days', '30', '--escrow-dir', '/srv/escrow']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('/usr/local/bin/kms-byok status --warn-days 30 --escrow-dir /srv/escrow');
    expect(r.stdout).toContain('3 a key needs attention');
  });

  it('--help prints the usage', async () => {
    const r = await cli(['schedule', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('kms-byok schedule --print systemd|cron|kubernetes');
  });
});
