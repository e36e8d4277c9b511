/**
 * Commands are declared once (src/cli/specs): every flag a command accepts is in its help, every flag
 * its help shows is accepted, `kms-byok help CMD` is `kms-byok CMD --help`, the top-level help lists
 * every command, and an unknown flag near a declared one gets "did you mean".
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { closestFlag, parseFlags } from '../../src/cli/args.js';
import { flagSpec, helpText, isGroup, parseCommand, type CommandSpec } from '../../src/cli/command-spec.js';
import { KmsByokError } from '../../src/core/errors.js';
import { DECLARED, allCommands, resolveDeclared } from '../../src/cli/specs/index.js';
import { DECLARATION_LOADERS, resolveDeclaredLazily } from '../../src/cli/specs/lazy.js';
import { run } from './harness.js';

/** The flag names a help text lists in its flag sections (lines "    --name …" or "    -h, --name …"). */
function flagsShownIn(help: string): string[] {
  return [...help.matchAll(/^ {4}(?:-[a-zA-Z], )?--([a-z][a-z0-9-]*)\b/gm)].map((m) => m[1]!);
}

/** Feeds one flag to a parser the way a user would: bare, and with a value when it needs one. */
function accepts(parse: (argv: string[]) => unknown, flag: string): boolean {
  for (const argv of [[`--${flag}`], [`--${flag}`, 'x']]) {
    try {
      parse(argv);
      return true;
    } catch (e) {
      if (!(e instanceof KmsByokError)) throw e;
      if (/^unknown flag/.test(e.message)) return false;
      // "needs a value" / "takes no value": the flag is known; the other form is tried.
    }
  }
  return true;
}

describe.each(allCommands().map((c) => [c.name, c] as const))('%s: declaration, parser and help agree', (_name, spec: CommandSpec) => {
  const help = helpText(spec);
  const parse = (argv: string[]) => parseFlags(argv, flagSpec(spec.flags), spec.name);

  it('every declared flag is shown in the help and accepted by the parser', () => {
    const shown = new Set(flagsShownIn(help));
    for (const flag of Object.keys(spec.flags)) {
      expect(shown, `--${flag} missing from ${spec.name} --help`).toContain(flag);
      expect(accepts(parse, flag), `--${flag} refused by ${spec.name}`).toBe(true);
    }
  });

  it('every flag the help shows is accepted by the parser, and nothing undeclared is', () => {
    const shown = flagsShownIn(help);
    expect(shown.length).toBeGreaterThan(0);
    for (const flag of shown) expect(accepts(parse, flag), `--${flag} shown but refused`).toBe(true);
    expect(accepts(parse, 'surely-not-a-flag')).toBe(false);
    expect(new Set(shown).size, 'a flag listed twice').toBe(shown.length);
  });

  it('the short -h is shown and accepted', () => {
    expect(help).toMatch(/^ {4}-h, --help /m);
    expect(parse(['-h']).values.help).toBe(true);
  });
});

describe('help is generated, one text per command', () => {
  const words = DECLARED.flatMap((d) => (isGroup(d) ? [[d.name], ...d.subcommands.map((s) => s.name.split(' '))] : [[d.name]]));

  it.each(words.map((w) => [w.join(' '), w] as const))('kms-byok help %s equals kms-byok %s --help', async (_n, w) => {
    const viaHelp = await run(['help', ...w]);
    const viaFlag = await run([...w, '--help']);
    expect(viaHelp.code, viaHelp.stderr).toBe(0);
    expect(viaFlag.code, viaFlag.stderr).toBe(0);
    expect(viaHelp.stdout).toMatch(new RegExp(`^Usage:\\n {4}kms-byok ${w.join(' ')}`));
    expect(viaFlag.stdout).toBe(viaHelp.stdout);
  });

  it('kms-byok help status is the status help, not the top-level one', async () => {
    const top = await run(['--help']);
    const status = await run(['help', 'status']);
    expect(status.stdout).not.toBe(top.stdout);
    expect(status.stdout).toContain('--warn-days N');
  });

  it('the top-level help lists every command with its summary', async () => {
    const top = (await run(['help'])).stdout;
    for (const d of DECLARED) expect(top).toMatch(new RegExp(`\\n {4}${d.name} +${d.summary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`));
  });

  it('the flags the issue found missing or doubled are listed once each', () => {
    const restore = helpText(allCommands().find((c) => c.name === 'restore')!);
    const rotate = helpText(allCommands().find((c) => c.name === 'rotate')!);
    const schedule = helpText(allCommands().find((c) => c.name === 'schedule')!);
    const reimport = helpText(allCommands().find((c) => c.name === 'reimport')!);
    expect(flagsShownIn(restore)).toEqual(expect.arrayContaining(['recipient', 'description']));
    // rotate never used --description: it is no longer accepted rather than silently ignored.
    expect(flagsShownIn(rotate)).not.toContain('description');
    expect(flagsShownIn(schedule)).toContain('warn-days');
    expect(flagsShownIn(reimport).filter((f) => f === 'resume')).toHaveLength(1);
  });

  it('an unknown help topic is a usage error naming the commands', async () => {
    const r = await run(['help', 'stauts']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command "stauts"/);
    expect(r.stderr).toMatch(/did you mean status\?/);
  });

  it('every command module parses through its declaration (no private flag table)', () => {
    const dir = join(import.meta.dirname, '../../src/cli/commands');
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts') && !n.endsWith('.test.ts'))) {
      const text = readFileSync(join(dir, f), 'utf8');
      expect(text, f).not.toMatch(/\bparseFlags\(/);
      if (/\bparseCommand\(/.test(text)) expect(text, f).toMatch(/from '\.\.\/specs\//);
    }
  });
});

describe('did you mean', () => {
  it.each([
    [['reimport', 'alias/x', '--expire-in', '30d'], '--expires-in'],
    [['rotate', 'alias/x', '--regoin', 'eu-west-1'], '--region'],
    [['status', '--warn-day', '10'], '--warn-days'],
    [['escrow', 'inspect', 'f', '--jsno'], '--json'],
    [['onboard', '--recipeint', 'age1x'], '--recipient'],
  ])('%j suggests %s', async (argv, suggestion) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/kms-byok: code: ERR_USAGE/);
    expect(r.stderr).toContain(`hint: did you mean ${suggestion}? (run kms-byok ${argv[0] === 'escrow' ? 'escrow inspect' : argv[0]} --help`);
  });

  it('suggests nothing when no declared flag is near', async () => {
    const r = await run(['onboard', '--colour']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown flag --colour/);
    expect(r.stderr).not.toMatch(/did you mean/);
  });

  it('closestFlag: typos within reach, prefixes of one flag, nothing for strangers', () => {
    const flags = ['expires-in', 'valid-to', 'no-expiry', 'region', 'key-id', 'escrow', 'escrow-dir'];
    expect(closestFlag('expires', flags)).toBe('expires-in');
    expect(closestFlag('keyid', flags)).toBe('key-id');
    expect(closestFlag('regoin', flags)).toBe('region');
    expect(closestFlag('escrow-di', flags)).toBe('escrow-dir');
    expect(closestFlag('esc', flags)).toBeUndefined(); // the start of two flags
    expect(closestFlag('colour', flags)).toBeUndefined();
    expect(closestFlag('x', flags)).toBeUndefined();
  });
});

describe('--key-id is KEY', () => {
  const status = allCommands().find((c) => c.name === 'status')!;
  const revoke = allCommands().find((c) => c.name === 'revoke')!;

  it('fills the positional, agrees with it, and refuses a different key', () => {
    expect(parseCommand(['--key-id', 'alias/x'], status).positionals).toEqual(['alias/x']);
    expect(parseCommand(['alias/x', '--key-id', 'alias/x'], revoke).positionals).toEqual(['alias/x']);
    expect(() => parseCommand(['alias/x', '--key-id', 'alias/y'], revoke)).toThrow(/name different keys/);
  });

  it('is declared by every command that takes KEY positionals', () => {
    for (const c of allCommands().filter((x) => x.keys)) expect(Object.keys(c.flags), c.name).toContain('key-id');
    expect(allCommands().filter((x) => x.keys).map((x) => x.name).sort()).toEqual(['alarms', 'audit', 'reimport', 'restore', 'retire', 'revoke', 'rotate', 'status', 'verify']);
  });
});

describe('help is cheap', () => {
  it('each command\'s declaration loads on its own (specs/lazy.ts), the same object as in the table, and resolves argv alike', async () => {
    expect(Object.keys(DECLARATION_LOADERS).sort()).toEqual(DECLARED.map((d) => d.name).sort());
    for (const d of DECLARED) expect(await DECLARATION_LOADERS[d.name]!()).toBe(d);
    for (const argv of [['status', '--json'], ['escrow', 'inspect', 'x'], ['escrow', 'nope'], ['fleet', 'report'], ['nope'], [], ['toString'], ['__proto__']]) {
      expect(await resolveDeclaredLazily(argv), argv.join(' ')).toEqual(resolveDeclared(argv));
    }
  });

  // The air-gapped test's resolve hook records every module the built CLI resolves (and refuses the SDK).
  const HOOK = fileURLToPath(new URL('./airgap-offline-hook.mjs', import.meta.url));
  const BIN = fileURLToPath(new URL('../../dist/bin.cjs', import.meta.url));

  it.each(['--help', 'status --help', 'help onboard', 'escrow inspect --help', 'wizard -h', 'transcript --help'])(
    'kms-byok %s loads no command module, SDK, age or inquirer',
    (line) => {
      const argv = line.split(' ');
      const dir = mkdtempSync(join(tmpdir(), 'kms-byok-help-'));
      try {
        const resolved = join(dir, 'resolved.txt');
        writeFileSync(resolved, '');
        const r = spawnSync(process.execPath, ['--import', pathToFileURL(HOOK).href, BIN, ...argv], {
          cwd: dir,
          env: { PATH: process.env.PATH ?? '', HOME: dir, KMS_BYOK_TEST_RESOLVED: resolved },
          encoding: 'utf8',
        });
        expect(r.status, r.stderr).toBe(0);
        expect(r.stdout).toMatch(/^Usage:/);
        const modules = readFileSync(resolved, 'utf8').split('\n').filter(Boolean);
        // The top-level help is rendered when the bundle is built (src/bin.ts): it loads not even the specs.
        expect(modules.some((m) => m.includes('/cli/specs/'))).toBe(line !== '--help');
        expect(modules.filter((m) => /@aws-sdk|age-encryption|@inquirer|\/cli\/commands\/|\/emulator\//.test(m))).toEqual([]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it.each(['--help', '-h', 'help'])('the bundle prints for kms-byok %s exactly what main() prints', async (arg) => {
    const built = spawnSync(process.execPath, [BIN, arg], { env: { PATH: process.env.PATH ?? '', HOME: tmpdir() }, encoding: 'utf8' });
    expect(built.status, built.stderr).toBe(0);
    const inProcess = await run([arg]);
    expect(inProcess.code).toBe(0);
    expect(built.stdout).toBe(inProcess.stdout);
    expect(built.stderr).toBe('');
  });

  it.runIf(existsSync('/dev/full'))('the bundle\'s --help on a full disk exits 1 and says so, as every command does (a closed pipe is no error)', () => {
    const full = spawnSync('sh', ['-c', `"${process.execPath}" "${BIN}" --help > /dev/full`], { encoding: 'utf8' });
    expect(full.status).toBe(1);
    expect(full.stderr).toBe('kms-byok: error: cannot write the output: ENOSPC\n');
    const piped = spawnSync('sh', ['-c', `"${process.execPath}" "${BIN}" --help | head -c 1 > /dev/null; echo "\${PIPESTATUS:-}"`], { encoding: 'utf8' });
    expect(piped.stderr).toBe('');
  });
});
