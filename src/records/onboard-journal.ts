/**
 * The onboard journal (docs/lifecycle.md, "Onboard"): `<escrow-dir>/.journal/onboard-inputs-<hash>.json`,
 * named by a hash of the invocation's inputs — every flag that shapes the ceremony, paths resolved,
 * and the AWS target from flags and environment. Re-running the same command therefore finds the run
 * it interrupted and finishes it (the same key, the same escrow); a command with other inputs never
 * picks up that journal (the command line wins over journals), and is told about unfinished ones.
 *
 * The journal holds no secret: step names, the key id, the escrow path, and the material wrapped
 * for KMS's import token (only KMS can unwrap it).
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { KmsByokError } from '../core/errors.js';
import { bool, type Parsed } from '../cli/args.js';
import { say, type Io } from '../cli/io.js';
import { journalPath, openJournal, type CliJournal, type JournalFile } from './journal.js';

/** Flags that do not change what the ceremony does (output, confirmation, records). */
const NOT_INPUTS = new Set(['yes', 'json', 'help', 'resume', 'transcript', 'notify-command', 'read-timeout']);
/** Flags whose value is a path: compared resolved, so `./escrow` and `escrow` are the same input. */
const PATHS = new Set(['escrow-dir', 'material-file', 'recipients-file', 'passphrase-file', 'apply-policy', 'emulator-state', 'pin-file', 'pkcs11-module']);
/** Environment that selects the AWS target (never credentials). */
const TARGET_ENV = ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE', 'AWS_ENDPOINT_URL_KMS'];

/** The canonical inputs of an onboard invocation (no secret: paths and flag values only). */
export function onboardInputs(p: Parsed, io: Io): Record<string, unknown> {
  const inputs: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(p.values).sort(([a], [b]) => a.localeCompare(b))) {
    if (value === undefined || NOT_INPUTS.has(name)) continue;
    const local = (v: string) => (PATHS.has(name) && v !== '-' ? resolve(io.cwd, v) : v);
    inputs[name] = Array.isArray(value) ? value.map(local) : typeof value === 'string' ? local(value) : value;
  }
  if (inputs['escrow-dir'] === undefined) inputs['escrow-dir'] = resolve(io.cwd, 'escrow');
  for (const name of TARGET_ENV) if (io.env[name]) inputs[`env:${name}`] = io.env[name];
  return inputs;
}

export interface OnboardJournal extends CliJournal {
  /** Facts journalled so far (this run's and the resumed run's). */
  facts(): Readonly<Record<string, string>>;
}

/**
 * Opens the journal of this invocation. An unfinished one is resumed (said on stderr); `--resume`
 * with none to resume is refused before anything is created. Reads files only.
 */
export async function openOnboardJournal(p: Parsed, io: Io, escrowDir: string): Promise<OnboardJournal> {
  const hash = createHash('sha256').update(JSON.stringify(onboardInputs(p, io))).digest('hex').slice(0, 16);
  const subject = `inputs-${hash}`;
  const path = journalPath(escrowDir, 'onboard', subject);
  const unfinished = await unfinishedOnboards(escrowDir);
  const mine = unfinished.find((u) => u.path === path);
  if (bool(p, 'resume') && !mine) {
    throw new KmsByokError('ERR_NOTHING_TO_RESUME', `no unfinished onboard with these inputs in ${escrowDir}`, {
      hint: unfinished.length > 0
        ? `unfinished onboards there: ${unfinished.map((u) => `${u.path} (key ${u.keyId ?? 'not created'}; command: ${u.command ?? 'unknown'})`).join('; ')} — re-run that exact command`
        : 'drop --resume to onboard a new key',
    });
  }
  for (const other of unfinished.filter((u) => u.path !== path)) {
    say(io, 'note', `an unfinished onboard is journalled in ${other.path} (key ${other.keyId ?? 'not created'}): re-run its command to finish it${other.command ? `: ${other.command}` : ''}`);
  }
  const journal = await openJournal(io, escrowDir, 'onboard', subject);
  const facts: Record<string, string> = { ...journal.resumed };
  return {
    path: journal.path,
    resuming: journal.resuming,
    resumed: journal.resumed,
    facts: () => facts,
    async step(name, f) {
      if (f) Object.assign(facts, f);
      await journal.step(name, f);
    },
    finish: () => journal.finish(),
  };
}

/** Unfinished onboard journals in the escrow directory, with the key and command they record. */
async function unfinishedOnboards(escrowDir: string): Promise<{ path: string; keyId?: string; command?: string }[]> {
  const dir = join(escrowDir, '.journal');
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.startsWith('onboard-') && n.endsWith('.json'));
  } catch {
    return [];
  }
  const out: { path: string; keyId?: string; command?: string }[] = [];
  for (const name of names.sort()) {
    const path = join(dir, name);
    try {
      const j = JSON.parse(await readFile(path, 'utf8')) as JournalFile;
      if (j.format !== 'kms-byok-journal' || j.done) continue;
      out.push({ path, ...(j.facts?.keyId ? { keyId: j.facts.keyId } : {}), ...(j.facts?.command ? { command: j.facts.command } : {}) });
    } catch {
      /* unreadable journals are someone else's problem: openJournal reports its own */
    }
  }
  return out;
}
