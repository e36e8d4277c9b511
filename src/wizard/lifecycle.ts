/**
 * Lifecycle flows in the wizard: status (a query), and reimport, restore (in place) and rotate, each
 * returning the argv of the command it stands for. They ask what those commands' flags take and state
 * the consequences before anything changes; the commands themselves do the work.
 */
import { KmsByokError } from '../core/errors.js';
import { check } from '../ceremony/choices.js';
import type { Prompter } from './prompter.js';
import { askExpiry, askTarget, confirmConsequences, type EscrowCustody, type HandoverSummary, type WizardContext } from './onboard.js';

export interface CommandPlan {
  command: 'status' | 'reimport' | 'restore' | 'rotate';
  argv: string[];
}

async function askKeyRef(p: Prompter, message = 'Key (key id, ARN or alias/NAME)'): Promise<string> {
  return (await p.input({ id: 'key', message, validate: check.nonEmpty('a key id, ARN or alias') })).trim();
}

/**
 * How the escrow is opened: age identity files, handed-over shares (`--share`, docs/custody.md
 * "Hand-over": offered first for a split escrow, so no custodian's private identity comes to this
 * machine), or a passphrase file (never typed here), each offered only when the escrow was sealed
 * that way. `custody` (from the sidecar) says how many custodians are needed; all their files are
 * asked before the confirmation.
 */
async function askOpener(p: Prompter, ctx: WizardContext, escrowDir: string, custody?: EscrowCustody): Promise<{ argv: string[]; text: string }> {
  const needed = custody?.needed ?? 1;
  const split = custody?.split;
  const choices: { value: 'identity' | 'share' | 'passphrase'; name: string }[] = [
    ...(split && ctx.handover
      ? [{ value: 'share' as const, name: `handed-over ${split}s: each custodian runs kms-byok escrow hand-over on their own machine (their identity stays there)` }]
      : []),
    // Only what this escrow was sealed to (its sidecar's custody); everything when the sidecar was not found.
    ...(custody === undefined || custody.custodians.length > 0
      ? [{ value: 'identity' as const, name: needed > 1 ? `${needed} custodians' age identity files, on this machine` : "a custodian's age identity file (age-keygen output)" }]
      : []),
    ...(custody === undefined || custody.passphrase ? [{ value: 'passphrase' as const, name: 'a passphrase file' }] : []),
  ];
  const how = await p.select({ id: 'opener', message: 'How will the custodians open the escrow?', choices, default: choices[0]!.value });
  if (how === 'identity') {
    const files: string[] = [];
    while (files.length < needed) {
      const message = needed > 1 ? `Identity file ${files.length + 1} of ${needed} (each a different custodian)` : 'Identity file';
      const validate = (t: string) => (files.includes(t.trim()) ? `${t.trim()} was given already: each custodian's identity once` : ctx.files.readable(t));
      files.push((await p.input({ id: 'identityFile', message, validate })).trim());
    }
    return { argv: files.flatMap((f) => ['--identity', f]), text: files.length > 1 ? `the identities in ${files.join(', ')}` : `the identity in ${files[0]}` };
  }
  if (how === 'share' && split && custody && ctx.handover) {
    const handover = ctx.handover.bind(ctx);
    p.say(
      [
        `Hand-over: here, kms-byok escrow handover-recipient --escrow-dir ${escrowDir} prints a one-time age1… recipient (once);`,
        `each custodian runs on their own machine: kms-byok escrow hand-over ${custody.escrowFile ?? 'ESCROW-FILE'} --identity THEIRS --to age1… --out FILE`,
        'and reads aloud the check value it prints; give their files here.',
      ].join('\n'),
    );
    const files: string[] = [];
    const parts: HandoverSummary[] = [];
    while (files.length < needed) {
      const validate = async (t: string): Promise<true | string> => {
        const s = await handover(t.trim(), escrowDir, custody);
        if (typeof s === 'string') return s;
        const again = parts.find((x) => x.index === s.index);
        return again ? `${split} ${s.index} (${s.custodian}) was given already: each custodian's ${split} once` : true;
      };
      const file = (await p.input({ id: 'shareFile', message: `Hand-over file ${files.length + 1} of ${needed} (from kms-byok escrow hand-over)`, validate })).trim();
      const s = await handover(file, escrowDir, custody);
      if (typeof s === 'string') throw new KmsByokError('ERR_HANDOVER_INVALID', s); // changed since it was checked
      const source = s.recorded ? "recorded in the escrow's sidecar" : 'as the file says: this sidecar recorded none';
      p.say(`  ${s.role} ${s.index} from ${s.custodian}: check value ${s.checkValues.join(', ')} (${source}; compare with what ${s.custodian} reads aloud)`);
      files.push(file);
      parts.push(s);
    }
    return { argv: files.flatMap((f) => ['--share', f]), text: `the ${split}s handed over by ${parts.map((x) => x.custodian).join(', ')} (${files.join(', ')})` };
  }
  const file = (await p.input({ id: 'passphraseFile', message: 'Passphrase file', validate: ctx.files.readable })).trim();
  return { argv: ['--passphrase-file', file], text: `the passphrase in ${file}` };
}

async function askEscrowDir(p: Prompter): Promise<string> {
  return (await p.input({ id: 'escrowDir', message: 'Escrow directory', default: './escrow', validate: check.nonEmpty('a directory') })).trim();
}

/** The escrow directory, then (from the escrow's sidecar) who holds it and how they open it. */
async function askEscrow(p: Prompter, ctx: WizardContext, targetArgv: string[], key: string): Promise<{ escrowDir: string; opener: { argv: string[]; text: string } }> {
  const escrowDir = await askEscrowDir(p);
  const custody = await ctx.custodyOf?.(targetArgv, escrowDir, key);
  if (custody) p.say(`The escrow of ${key} is held by ${custody.custodians.join(', ') || 'a passphrase'}: ${custody.mode} to open it.`);
  return { escrowDir, opener: await askOpener(p, ctx, escrowDir, custody) };
}

/** status: read-only, no confirmation. */
export async function statusWizard(p: Prompter, ctx: WizardContext): Promise<CommandPlan> {
  const target = await askTarget(p, ctx);
  const key = (await p.input({ id: 'key', message: 'Key (empty: every EXTERNAL key)', default: '' })).trim();
  const escrowDir = await askEscrowDir(p);
  const warnDays = (await p.input({ id: 'warnDays', message: 'Warn when material expires within (days)', default: '30', validate: (t) => (/^\d{1,4}$/.test(t.trim()) ? true : 'give a whole number of days') })).trim();
  return { command: 'status', argv: [...target.argv, ...(key ? [key] : []), '--escrow-dir', escrowDir, '--warn-days', warnDays] };
}

/** reimport: renew the expiry of a key's material from its escrow. */
export async function reimportWizard(p: Prompter, ctx: WizardContext): Promise<CommandPlan | undefined> {
  const target = await askTarget(p, ctx);
  const key = await askKeyRef(p);
  const expiry = await askExpiry(p, ctx);
  const { escrowDir, opener } = await askEscrow(p, ctx, target.argv, key);
  const paragraph = [
    'What happens next:',
    `- The latest escrow of ${key} in ${escrowDir} is opened with ${opener.text} and checked.`,
    `- Every material of the key is re-imported into it in ${target.label} (the same material: KMS checks its KeyMaterialId);`,
    `  the material then ${expiry.text}. The key id, ARN and ciphertexts are unchanged.`,
  ].join('\n');
  if (!(await confirmConsequences(p, paragraph, 'Re-import now?'))) return undefined;
  return { command: 'reimport', argv: [...target.argv, key, ...expiry.argv, ...opener.argv, '--escrow-dir', escrowDir] };
}

/** restore (in place): a key in PendingImport gets its material back from the escrow. */
export async function restoreWizard(p: Prompter, ctx: WizardContext): Promise<CommandPlan | undefined> {
  const target = await askTarget(p, ctx);
  const key = await askKeyRef(p, 'Key to restore (key id, ARN or alias/NAME)');
  const expiry = await askExpiry(p, ctx);
  const { escrowDir, opener } = await askEscrow(p, ctx, target.argv, key);
  const paragraph = [
    'What happens next:',
    `- The latest escrow of ${key} in ${escrowDir} is opened with ${opener.text} and checked.`,
    `- Every missing material is re-imported into ${key} in ${target.label}; the key becomes usable again and old`,
    `  ciphertexts decrypt as before. The material ${expiry.text}.`,
    '- (A new key from the escrow, in another account or Region: kms-byok restore --new-key, see --help.)',
  ].join('\n');
  if (!(await confirmConsequences(p, paragraph, 'Restore now?'))) return undefined;
  return { command: 'restore', argv: [...target.argv, key, ...expiry.argv, ...opener.argv, '--escrow-dir', escrowDir] };
}

/** rotate: new material in place (symmetric) or a new key behind the alias. */
export async function rotateWizard(p: Prompter, ctx: WizardContext): Promise<CommandPlan | undefined> {
  const target = await askTarget(p, ctx);
  const key = await askKeyRef(p);
  const strategy = await p.select({
    id: 'strategy',
    message: 'Rotation strategy',
    choices: [
      { value: 'in-place', name: 'in place (symmetric keys): new material in the same key; old ciphertexts still decrypt' },
      { value: 'new-key', name: 'new key: a new EXTERNAL key, the alias moves to it; the old key stays enabled' },
    ],
    default: 'in-place',
  });
  const expiry = await askExpiry(p, ctx);
  const { escrowDir, opener } = strategy === 'in-place' ? await askEscrow(p, ctx, target.argv, key) : { escrowDir: await askEscrowDir(p), opener: { argv: [], text: '' } };
  const paragraph =
    strategy === 'in-place'
      ? [
          'What happens next:',
          `- New material is generated for ${key} and sealed in a NEW escrow version in ${escrowDir} (holding every material,`,
          `  the old file is kept) BEFORE it is imported in ${target.label}; then RotateKeyOnDemand makes it current.`,
          `- The new material ${expiry.text}. AWS allows 25 on-demand rotations per key.`,
          `- The escrow is opened with ${opener.text} to carry the earlier materials into the new version.`,
        ]
      : [
          'What happens next:',
          `- A new EXTERNAL key with new material is created in ${target.label}; its escrow is written to ${escrowDir} first.`,
          `- The aliases of ${key} move to the new key; ${key} stays enabled so old ciphertexts still decrypt.`,
          `- The new material ${expiry.text}.`,
        ];
  if (!(await confirmConsequences(p, paragraph.join('\n'), 'Rotate now?'))) return undefined;
  return { command: 'rotate', argv: [...target.argv, key, `--${strategy}`, '--yes', ...expiry.argv, ...opener.argv, '--escrow-dir', escrowDir] };
}
