/**
 * Enforces the module table of docs/architecture.md: which folder of src/ may import what.
 * Reads every non-test .ts file under src/, extracts static and dynamic import specifiers, resolves
 * relative ones to a module name, and checks each against the importing module's rule.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return files(p);
    return p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
  });
}

/** "core", "material", "escrow/file-store", "escrow", "kms/aws", "kms/port", "cli", … for a src path. */
function moduleOf(path: string): string {
  const rel = relative(SRC, path).replace(/\\/g, '/').replace(/\.(ts|js)$/, '');
  const [top, second] = rel.split('/');
  if (top === 'escrow' && second === 'file-store') return 'escrow/file-store';
  if (top === 'cli' && second === 'commands') return 'cli/commands';
  if (top === 'records' && second === 'transcript') return 'records/transcript';
  if (top === 'cli' && ['io', 'args', 'cancel', 'pipe-safe'].includes(second!)) return 'cli/io';
  if (top === 'kms' && (second === 'aws' || second === 'aws-cloudtrail')) return 'kms/aws';
  if (top === 'custody' && second === 'pkcs11') return 'custody/pkcs11';
  if (top === 'kms') return 'kms/port';
  if (top === 'wizard' && second === 'prompter') return 'wizard/prompter';
  if (!rel.includes('/')) return rel; // index, bin
  return top!;
}

function importsOf(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  const specs = new Set<string>();
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]/g)) specs.add(m[1]!);
  for (const m of text.matchAll(/(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g)) specs.add(m[1]!);
  for (const m of text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)) specs.add(m[1]!);
  return [...specs];
}

/** What an import specifier refers to: a src module name, or the package/builtin name. */
function targetOf(from: string, spec: string): string {
  if (spec.startsWith('.')) return moduleOf(resolve(dirname(from), spec));
  if (spec.startsWith('node:')) return spec;
  const parts = spec.split('/');
  return spec.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

const PURE_CRYPTO = ['node:crypto', 'node:util', 'node-forge', 'age-encryption', 'shamir-secret-sharing'];
type Rule = { allow: (t: string) => boolean; why: string };
const oneOf = (...xs: string[]) => (t: string) => xs.includes(t);

const RULES: Record<string, Rule> = {
  core: { allow: oneOf('core', 'node:crypto', 'node:util'), why: 'core imports nothing else of src/' },
  material: { allow: oneOf('core', 'material', ...PURE_CRYPTO), why: 'material is pure' },
  wrapping: { allow: oneOf('core', 'material', 'wrapping', ...PURE_CRYPTO), why: 'wrapping is pure' },
  escrow: { allow: oneOf('core', 'escrow', ...PURE_CRYPTO), why: 'escrow format/seal/shares/store are pure' },
  'escrow/file-store': { allow: (t) => ['core', 'escrow', 'escrow/file-store', 'records'].includes(t) || t.startsWith('node:'), why: 'the escrow fs edge (over records/safe-files)' },
  'kms/port': { allow: oneOf('core', 'kms/port'), why: 'the port has no effects' },
  'kms/aws': { allow: oneOf('core', 'kms/port', 'kms/aws', '@aws-sdk/client-kms', '@aws-sdk/client-cloudtrail'), why: 'the SDK adapters (KMS, CloudTrail)' },
  aws: { allow: oneOf('aws', '@aws-sdk/client-sts'), why: 'the STS edge (caller identity): loaded lazily by cli/target.ts' },
  ceremony: {
    allow: oneOf('core', 'material', 'wrapping', 'escrow', 'kms/port', 'ceremony', 'airgap', 'records/transcript', 'node:crypto'),
    why: 'ceremonies are straight-line code over ports (the air-gapped ceremony in airgap/ is one of them)',
  },
  wizard: { allow: oneOf('core', 'ceremony', 'wizard', 'wizard/prompter'), why: 'the wizard builds options' },
  'wizard/prompter': { allow: oneOf('core', 'wizard', '@inquirer/prompts'), why: 'the only importer of inquirer' },
  emulator: { allow: (t) => t === 'emulator' || t.startsWith('node:') || t === 'node-forge', why: 'the emulator is an independent oracle' },
  policy: { allow: oneOf('core', 'policy'), why: 'policy (key policies, schedules) is pure: it imports core only' },
  'records/transcript': { allow: oneOf('core', 'records/transcript', 'node:crypto'), why: 'the transcript chain is pure (its file edge is records/transcript-file)' },
  records: {
    allow: (t) => ['core', 'escrow', 'escrow/file-store', 'ceremony', 'records', 'records/transcript', 'cli/io'].includes(t) || t.startsWith('node:'),
    why: 'records (journals, transcript, safe files, notifications, metrics) sit below the commands: the shell\'s I/O types, no KMS, no emulator',
  },
  airgap: {
    allow: (t) => ['core', 'material', 'wrapping', 'escrow', 'kms/port', 'ceremony', 'records', 'airgap'].includes(t) || t.startsWith('node:'),
    why: 'the air-gapped ceremony runs over ports; its bundles are files: no SDK, no emulator, no commands',
  },
  fleet: {
    allow: (t) => !['kms/aws', 'emulator', 'escrow/file-store', 'cli/commands', 'wizard', 'wizard/prompter'].includes(t) && !t.startsWith('@'),
    why: 'fleet runs ask the context for per-Region ports (cli/target.ts) and vaults (cli/context.ts)',
  },
  'custody/pkcs11': {
    allow: oneOf('core', 'material', 'kms/port', 'ceremony', 'custody/pkcs11', 'node:crypto', 'pkcs11js'),
    why: 'the PKCS#11 edge: the only importer of pkcs11js; implements the ceremony\'s TokenCustody port',
  },
  'cli/commands': {
    allow: (t) => !['kms/aws', 'aws', 'emulator', 'escrow/file-store', 'custody/pkcs11', 'pkcs11js'].includes(t) && !t.startsWith('@aws-sdk'),
    why: 'commands open targets, vaults and journals through the context (cli/context.ts, cli/target.ts) only',
  },
  lambda: {
    allow: (t) => !['kms/aws', 'emulator', 'escrow/file-store', 'cli/commands', 'wizard', 'wizard/prompter'].includes(t) && !t.startsWith('@'),
    why: 'the Lambda handler runs the CLI\'s fleet run in-process: KMS through cli/target.ts, no SDK, no emulator',
  },
  'cli/io': { allow: (t) => ['core', 'kms/port', 'cli/io'].includes(t) || t.startsWith('node:'), why: 'the shell\'s I/O, argv and cancellation (which gates KMS calls through the port)' },
  cli: { allow: () => true, why: 'the edge' },
  index: { allow: (t) => !['cli', 'wizard/prompter'].includes(t) && !t.startsWith('@inquirer'), why: 'library entry' },
  bin: { allow: oneOf('cli', 'cli/io'), why: 'process entry' },
};

describe('architecture: the module table of docs/architecture.md', () => {
  const all = files(SRC);

  it('finds the source tree', () => {
    expect(all.length).toBeGreaterThan(10);
  });

  for (const file of all) {
    const mod = moduleOf(file);
    it(`${relative(SRC, file)} (${mod}) imports only what its module may`, () => {
      const rule = RULES[mod];
      expect(rule, `no rule for module ${mod}: add it to docs/architecture.md and this test`).toBeDefined();
      const bad = importsOf(file)
        .map((spec) => ({ spec, target: targetOf(file, spec) }))
        .filter(({ target }) => !rule!.allow(target));
      expect(bad, rule!.why).toEqual([]);
    });
  }

  it('pure modules do not touch process, the filesystem or the network', () => {
    const pure = all.filter((f) => ['core', 'material', 'wrapping', 'escrow', 'kms/port', 'ceremony', 'policy'].includes(moduleOf(f)));
    const offenders = pure.filter((f) => /\bprocess\.(env|argv|stdin|stdout|stderr|exit|cwd)/.test(readFileSync(f, 'utf8')));
    expect(offenders.map((f) => relative(SRC, f))).toEqual([]);
  });

  it('commands reach the escrow only through its barrel (escrow/index.ts), never its internals', () => {
    const offenders = all
      .filter((f) => moduleOf(f) === 'cli/commands')
      .flatMap((f) => importsOf(f).filter((spec) => spec.startsWith('.') && /\/escrow\/(?!index\.js$)/.test(resolve(dirname(f), spec))).map((spec) => `${relative(SRC, f)} → ${spec}`));
    expect(offenders).toEqual([]);
  });

  it('only custody/pkcs11 loads pkcs11js (lazily, by a dynamic import), and only the CLI edge loads custody/pkcs11', () => {
    const binding = all.filter((f) => importsOf(f).some((spec) => targetOf(f, spec) === 'pkcs11js'));
    expect(binding.map((f) => relative(SRC, f))).toEqual(['custody/pkcs11/binding.ts']);
    expect(readFileSync(binding[0]!, 'utf8')).not.toMatch(/^import [^t][^;]*from 'pkcs11js'/m);
    const users = all.filter((f) => moduleOf(f) !== 'custody/pkcs11' && importsOf(f).some((spec) => targetOf(f, spec) === 'custody/pkcs11'));
    expect(users.map((f) => relative(SRC, f))).toEqual(['cli/hsm-run.ts']);
    expect(readFileSync(users[0]!, 'utf8')).not.toMatch(/^import [^t][^;]*from '\.\.\/custody\//m);
  });

  it('the rule table itself rejects a forbidden import (the test can fail)', () => {
    expect(RULES['cli/commands']!.allow('kms/aws')).toBe(false);
    expect(RULES['cli/commands']!.allow('aws')).toBe(false);
    expect(RULES.ceremony!.allow('@aws-sdk/client-sts')).toBe(false);
    expect(RULES['cli/commands']!.allow('emulator')).toBe(false);
    expect(RULES['cli/commands']!.allow('escrow/file-store')).toBe(false);
    expect(RULES['cli/commands']!.allow('pkcs11js')).toBe(false);
    expect(RULES.ceremony!.allow('custody/pkcs11')).toBe(false);
    expect(RULES.fleet!.allow('emulator')).toBe(false);
    expect(RULES.records!.allow('kms/aws')).toBe(false);
    expect(RULES.airgap!.allow('@aws-sdk/client-kms')).toBe(false);
    expect(moduleOf(join(SRC, 'cli/commands/status.ts'))).toBe('cli/commands');
    expect(RULES.ceremony!.allow('kms/aws')).toBe(false);
    expect(RULES.emulator!.allow('core')).toBe(false);
    expect(RULES['wizard/prompter']!.allow('@inquirer/prompts')).toBe(true);
    expect(RULES.wizard!.allow('@inquirer/prompts')).toBe(false);
    expect(RULES.policy!.allow('node:fs')).toBe(false);
    expect(RULES.policy!.allow('kms/port')).toBe(false);
    expect(targetOf(join(SRC, 'ceremony/onboard.ts'), '../kms/aws.js')).toBe('kms/aws');
  });
});
