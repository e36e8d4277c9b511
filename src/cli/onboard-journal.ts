/**
 * The onboard ceremony's journal, for the onboard command to wire in without changing the ceremony:
 * it wraps the ceremony's `progress` sink and turns the step lines runOnboard already prints into
 * durable journal steps (`created key` → `got parameters` → `escrow sealed` → `imported` →
 * `verified`), synchronously, before the ceremony moves on. Nothing secret is in those lines.
 *
 * Hook (src/cli/commands/onboard.ts, owned elsewhere):
 *
 *     const j = openOnboardJournal(io, escrowDir, alias ?? 'onboard', (s) => say(io, null, `✓ ${s}`));
 *     … runOnboard(options, { …, progress: j.progress }) …
 *     j.finish();                      // after success only
 *
 * `openOnboardJournal` refuses to start while an earlier onboard of the same subject is unfinished and
 * says how to finish it: with its escrow written, `kms-byok restore KEY` makes the first import from
 * the escrow; without, the empty key is named for deletion. Honours the KMS_BYOK_CRASH_AFTER_STEP test
 * seam like the other ceremonies' journals.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { KmsByokError } from '../core/errors.js';
import type { Io } from './io.js';
import { journalPath, type JournalFile } from './lifecycle-edge.js';

export interface OnboardJournal {
  readonly path: string;
  /** The ceremony's progress sink: forwards every line, journals the ones that end a step. */
  progress(line: string): void;
  /** Marks the journal done (call after success only). */
  finish(): void;
}

/** Maps an onboard progress line to a journal step and its facts (undefined: not a step). */
export function onboardStepOf(line: string): { step: string; facts: Record<string, string> } | undefined {
  let m = /^created key (\S+)/.exec(line);
  if (m) return { step: 'created key', facts: { keyId: m[1]! } };
  m = /^got import parameters .*valid until (\S+?)\)?$/.exec(line);
  if (m) return { step: 'got parameters', facts: { importTokenValidTo: m[1]! } };
  m = /^material sealed in escrow (\S+)/.exec(line);
  if (m) return { step: 'escrow sealed', facts: { escrow: m[1]! } };
  m = /^imported key material ?([0-9a-f]{64})?/.exec(line);
  if (m) return { step: 'imported', facts: m[1] ? { keyMaterialId: m[1] } : {} };
  if (/^verified/.test(line)) return { step: 'verified', facts: {} };
  if (/^created alias (\S+)/.test(line)) return { step: 'created alias', facts: { alias: /^created alias (\S+)/.exec(line)![1]! } };
  return undefined;
}

function writeDurably(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  try {
    const d = openSync(dirname(path), 'r');
    try {
      fsyncSync(d);
    } finally {
      closeSync(d);
    }
  } catch {
    /* directories cannot be fsynced on every platform */
  }
}

export function openOnboardJournal(io: Io, escrowDir: string, subject: string, forward: (line: string) => void): OnboardJournal {
  const path = journalPath(escrowDir, 'onboard', subject);
  try {
    const previous = JSON.parse(readFileSync(path, 'utf8')) as JournalFile;
    if (previous.format === 'kms-byok-journal' && !previous.done) {
      const keyId = previous.facts.keyId;
      const last = previous.steps[previous.steps.length - 1]?.step ?? 'none';
      const hint = !keyId
        ? `nothing was created; remove ${path} and re-run`
        : previous.facts.escrow
          ? `its escrow ${previous.facts.escrow} holds the material: finish with kms-byok restore ${keyId} --identity FILE (and an expiry flag), then remove ${path}`
          : `key ${keyId} exists with no material: schedule its deletion (aws kms schedule-key-deletion --key-id ${keyId} --pending-window-in-days 7), remove ${path}, and re-run`;
      throw new KmsByokError('ERR_JOURNAL', `an earlier onboard of ${subject} was interrupted after "${last}"${keyId ? ` (key ${keyId})` : ''}`, { hint });
    }
  } catch (e) {
    if (e instanceof KmsByokError) throw e;
    if ((e as { code?: string }).code !== 'ENOENT' && !(e instanceof SyntaxError)) {
      throw new KmsByokError('ERR_JOURNAL', `cannot read the journal ${path}`, { hint: 'check the escrow directory' });
    }
  }
  const now = new Date().toISOString();
  const state: JournalFile = { format: 'kms-byok-journal', version: 1, ceremony: 'onboard', subject, startedAt: now, updatedAt: now, done: false, facts: {}, steps: [] };
  const crashAfter = io.env.KMS_BYOK_CRASH_AFTER_STEP;
  const save = () => {
    state.updatedAt = new Date().toISOString();
    writeDurably(path, `${JSON.stringify(state, null, 2)}\n`);
  };
  return {
    path,
    progress(line) {
      forward(line);
      const s = onboardStepOf(line);
      if (!s) return;
      state.steps.push({ step: s.step, at: new Date().toISOString(), facts: s.facts });
      Object.assign(state.facts, s.facts);
      save();
      if (crashAfter === s.step) process.kill(process.pid, 'SIGKILL');
    },
    finish() {
      state.done = true;
      save();
    },
  };
}
