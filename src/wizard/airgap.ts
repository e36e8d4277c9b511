/**
 * The air-gapped ceremony in the wizard: one flow per step, each returning the argv of the command
 * the step is (`onboard --export-parameters`, `wrap`, `import`). Before a bundle is used, its
 * fingerprint is shown for the operator to compare with the other machine.
 */
import { KmsByokError } from '../core/errors.js';
import type { Prompter } from './prompter.js';
import { askExpiry, askKey, askMaterial, askSealing, askTarget, confirmConsequences, type BundleSummary, type TargetAnswer, type WizardContext } from './onboard.js';
import { fingerprintLines } from './render.js';

export interface StepPlan {
  /** argv of the command, without the command word. */
  argv: string[];
  target?: TargetAnswer;
}

/** Asks for a bundle of `kind`, re-asking until it parses, then shows it and asks to compare fingerprints. */
async function askBundle(p: Prompter, ctx: WizardContext, kind: BundleSummary['kind'], id: string, message: string, from: string): Promise<{ path: string; summary: BundleSummary }> {
  let summary: BundleSummary | undefined;
  const path = (
    await p.input({
      id,
      message,
      validate: (answer) => {
        const s = ctx.files.bundle(answer.trim());
        if (typeof s === 'string') return s;
        if (s.kind !== kind) return `${answer.trim()} is ${s.kind === 'parameters' ? 'a parameters bundle (step 1)' : 'an import bundle (step 2)'}`;
        summary = s;
        return true;
      },
    })
  ).trim();
  // A replayed path is validated again (wizard/back.ts), which reads the bundle as it is now.
  if (summary === undefined) {
    const s = ctx.files.bundle(path);
    if (typeof s === 'string') throw new KmsByokError('ERR_BUNDLE_TAMPERED', s, { hint: 'copy the bundle again from the machine that wrote it; nothing was created' });
    summary = s;
  }
  p.say(`Bundle for key ${summary.keyArn} (${summary.keySpec}${summary.alias ? `, ${summary.alias}` : ''}); import token valid until ${summary.parametersValidTo}.`);
  p.say(`SHA-256 fingerprint — compare it with the one ${from} showed:`);
  p.say(fingerprintLines(summary.sha256));
  if (!(await p.confirm({ id: 'fingerprintMatches', message: 'Does it match, group for group?', default: false, attest: true }))) throw mismatch();
  return { path, summary };
}

function mismatch(): KmsByokError {
  return new KmsByokError('ERR_BUNDLE_TAMPERED', 'the bundle fingerprint was not confirmed to match the other machine', {
    hint: 'do not use this bundle: copy it again from the machine that wrote it and compare again; nothing was created',
  });
}

/** Step 1, online: create the key and write the parameters bundle. */
export async function exportParametersWizard(p: Prompter, ctx: WizardContext): Promise<StepPlan | undefined> {
  p.say('Air-gapped step 1 (online): create the key and export its import parameters to a bundle.');
  const target = await askTarget(p, ctx);
  const key = await askKey(p);
  const expiry = await askExpiry(p, ctx);
  const out = (await p.input({ id: 'parametersFile', message: 'Parameters bundle to write', default: 'params.json', validate: ctx.files.creatable })).trim();
  const paragraph = [
    'What happens next:',
    `- A new KMS key (${key.keySpec}, ${key.keyUsage}, origin EXTERNAL)${key.alias ? ` with alias ${key.alias}` : ''} is created in ${target.label},`,
    '  in PendingImport: unusable until step 3 imports its material.',
    `- Its import parameters (wrapping public key ${key.wrapping.wrappingKeySpec}, import token) are written to ${out}; the token expires`,
    '  24 hours from now: steps 2 and 3 must be done before then (or fetch fresh parameters for the same key).',
    `- The material ${expiry.text} (applied at step 3).`,
    '- Nothing secret is in the bundle; carry it to the offline machine.',
  ].join('\n');
  if (!(await confirmConsequences(p, paragraph, 'Create the key and write the parameters bundle now?'))) return undefined;
  return { argv: ['--yes', ...target.argv, ...key.argv, ...expiry.argv, '--export-parameters', out], target };
}

/** Step 2, offline: generate/seal/wrap; no target. */
export async function wrapWizard(p: Prompter, ctx: WizardContext): Promise<StepPlan | undefined> {
  p.say('Air-gapped step 2 (offline): generate the material, seal the escrow, wrap it for import.');
  const { path, summary } = await askBundle(p, ctx, 'parameters', 'parametersFile', 'Parameters bundle (from step 1)', 'the online machine (step 1)');
  const material = await askMaterial(p, ctx, summary.keySpec as never);
  const sealing = await askSealing(p, ctx);
  const out = (await p.input({ id: 'importFile', message: 'Import bundle to write', default: 'import.json', validate: ctx.files.creatable })).trim();
  const paragraph = [
    'What happens next (on this machine only, no network):',
    `- Key material for ${summary.keyArn} is ${material.text} and sealed in an escrow under ${sealing.escrowDir}.`,
    `- The escrow can be opened by ${sealing.who}.`,
    `- The material is wrapped with the bundle's public key and written to ${out} for step 3 (before ${summary.parametersValidTo}).`,
    '- If the escrow is lost, nobody can ever re-import this material once it expires or is deleted from KMS.',
  ].join('\n');
  if (!(await confirmConsequences(p, paragraph, 'Seal the escrow and write the import bundle now?'))) return undefined;
  return { argv: ['--parameters', path, ...material.argv, ...sealing.argv, '--out', out] };
}

/** Step 3, online: import and verify. */
export async function importWizard(p: Prompter, ctx: WizardContext): Promise<StepPlan | undefined> {
  p.say('Air-gapped step 3 (online): import the wrapped material and verify the key.');
  const target = await askTarget(p, ctx);
  const { path, summary } = await askBundle(p, ctx, 'import', 'importFile', 'Import bundle (from step 2)', 'the offline machine (step 2)');
  const escrowDir = (await p.input({ id: 'escrowDir', message: 'Escrow directory copy, to record KeyMaterialId/ValidTo (optional)', default: './escrow' })).trim();
  const paragraph = [
    'What happens next:',
    `- The material (check value ${summary.checkValue ?? '?'}) is imported into ${summary.keyArn} in ${target.label}; the key becomes Enabled.`,
    `- KeyMaterialId and ValidTo are recorded in the escrow sidecar under ${escrowDir} when it is there.`,
    '- The key is then verified without the material.',
  ].join('\n');
  if (!(await confirmConsequences(p, paragraph, 'Import now?'))) return undefined;
  return { argv: [...target.argv, '--bundle', path, '--escrow-dir', escrowDir], target };
}
