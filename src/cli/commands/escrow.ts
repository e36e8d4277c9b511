/**
 * `kms-byok escrow inspect|verify|reseal|export`:
 * - inspect: the non-secret facts from the sidecar (no secret needed);
 * - verify: opens with a custodian's identity or passphrase, checks manifest, sidecar, file hashes and
 *   every material's check value, prints the facts — never the material; a failed check exits 3;
 * - reseal: custodian change — a new version sealed to the new set, the old one kept;
 * - export: disaster recovery — raw material to a new 0600 file, only with --insecure-plaintext.
 */
import { assertDirectorySafe, openExclusive } from '../../records/safe-files.js';
import { dirname, resolve } from 'node:path';
import { readFile } from 'node:fs/promises';
import { acknowledgedRecipients } from '../../records/transcript.js';
import { ExitCode, KmsByokError, asLocalInputError } from '../../core/errors.js';
import { checkValue, readableCheckValue } from '../../material/check-value.js';
import {
  carryOverFacts,
  custodianPart,
  disposePayload,
  openCustodianFile,
  recipientOfIdentity,
  inspectEscrow,
  openEscrow,
  resealContents,
  sealEscrow,
  type EscrowOpener,
  type EscrowPayload,
  type EscrowSealing,
  type EscrowSidecar,
  type EscrowSummary,
} from '../../escrow/index.js';
import { listVersions, nextEscrowVersion, readEscrow, updateSidecar, writeSealedEscrow } from '../context.js';
import { bool, str, strs, type Parsed } from '../args.js';
import { groupHelpText, helpText, parseCommand } from '../command-spec.js';
import { ESCROW, ESCROW_ACKNOWLEDGE, ESCROW_EXPORT, ESCROW_INSPECT, ESCROW_RESEAL, ESCROW_VERIFY } from '../specs/escrow.js';
import { say, type Io } from '../io.js';
import { printRows } from '../render.js';
import { escrowRef, escrowSummaryDocument, printDocument, printErrorDocument } from '../documents.js';
import { consumeHandover, readOpener, readSealingInputs } from '../escrow-inputs.js';
import { operator } from '../../airgap/bundles.js';

/** Failures of an escrow check that mean "this escrow does not match itself": attention, exit 3. */
const MISMATCH_CODES = new Set(['ERR_CHECK_VALUE_MISMATCH', 'ERR_ESCROW_MISMATCH', 'ERR_ESCROW_TAMPERED', 'ERR_ESCROW_ANCHOR_MISMATCH', 'ERR_ESCROW_NOT_ANCHORED']);

/** Whether `escrow verify` was given a target (then it also checks the escrow against KMS). */
function wantsTarget(p: Parsed): boolean {
  return ['region', 'profile', 'endpoint-url', 'emulator-state'].some((f) => str(p, f) !== undefined) || bool(p, 'emulator');
}

/** Proves the opened escrow's KeyMaterialIds and anchors against the key in KMS; a line for the report. */
async function proveAgainstKms(p: Parsed, io: Io, escrow: { payload: EscrowPayload; sidecar: EscrowSidecar; path: string }): Promise<string> {
  const { openTarget } = await import('../target.js');
  const { proveSidecarIds } = await import('../../ceremony/verify.js');
  const target = await openTarget(p, io);
  try {
    const key = await target.kms.describeKey(escrow.sidecar.manifest.keyId);
    const proven = await proveSidecarIds(target.kms, key, escrow, (s) => say(io, null, `✓ ${s}`));
    const ids = proven.filter((x) => x.proven !== 'not-imported').length;
    return `ok: ${ids} material(s) proven in ${target.kms.region} (KMS accepted each under the KeyMaterialId the sidecar names); anchors vouch for the escrow`;
  } finally {
    await target.close();
  }
}

export async function escrow(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    io.stdout.write(groupHelpText(ESCROW));
    return sub === undefined ? ExitCode.usage : ExitCode.ok;
  }
  if (sub === 'verify') return verify(rest, io);
  if (sub === 'inspect') return inspect(rest, io);
  if (sub === 'reseal') return reseal(rest, io);
  if (sub === 'export') return exportMaterial(rest, io);
  if (sub === 'acknowledge') return acknowledge(rest, io);
  if (sub === 'handover-recipient') return (await import('./escrow-handover.js')).handoverRecipient(rest, io);
  if (sub === 'hand-over') return (await import('./escrow-handover.js')).handOverShare(rest, io);
  throw new KmsByokError('ERR_USAGE', `unknown escrow command "${sub}"`, { hint: 'run kms-byok escrow --help' });
}

async function verify(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(argv, ESCROW_VERIFY);
  if (bool(p, 'help')) {
    io.stdout.write(helpText(ESCROW_VERIFY));
    return ExitCode.ok;
  }
  const file = p.positionals[0];
  if (file === undefined || p.positionals.length > 1) {
    throw new KmsByokError('ERR_USAGE', file === undefined ? 'missing the escrow FILE to verify' : 'give exactly one escrow FILE', { hint: 'kms-byok escrow verify escrow/<key-id>.v1.age --identity custodian.txt' });
  }
  const opener = await openerOf(p, io, file);
  try {
    const loaded = await readEscrow(resolve(io.cwd, file));
    let summary: EscrowSummary;
    let inKms: string | undefined;
    try {
      const payload = await openEscrow(loaded, opener, { computeCheckValue: checkValue }, 'renewal');
      try {
        // With a target, the sidecar's KeyMaterialIds are proven against KMS (re-import under each id).
        if (wantsTarget(p)) inKms = await proveAgainstKms(p, io, { payload, sidecar: loaded.sidecar, path: resolve(io.cwd, file) });
      } finally {
        disposePayload(payload);
      }
      summary = inspectEscrow(loaded.sidecar);
    } catch (e) {
      if (e instanceof KmsByokError && MISMATCH_CODES.has(e.code)) {
        say(io, 'error', e.message);
        say(io, 'hint', e.hint ?? 'do not import from this escrow; compare it with the custodians\' copies');
        io.stderr.write(`kms-byok: code: ${e.code}\n`);
        if (bool(p, 'json')) printErrorDocument(io, e);
        return ExitCode.attention;
      }
      throw e;
    }
    await consumeHandover(opener, io);
    if (bool(p, 'json')) {
      printDocument(io, { ...escrowSummaryDocument(resolve(io.cwd, file), loaded.sidecarPath, summary), ...(inKms ? { kms: inKms } : {}) });
    } else {
      printRows(io, [
        ['escrow', `${file} (version ${summary.escrowVersion}, ${summary.sealing})`],
        ['key', summary.keyArn],
        ['key spec', `${summary.keySpec} (${summary.keyUsage})${summary.multiRegion ? ', multi-Region' : ''}`],
        ['custodians', [...summary.custodians.map((c) => c.label ?? c.recipient), ...(summary.passphrase ? ['passphrase'] : [])].join(', ')],
        ['threshold', summary.threshold === undefined ? undefined : `${summary.threshold} of ${summary.custodians.length}`],
        ['created', `${summary.created} by ${summary.createdBy}`],
        ...summary.materials.map((m): [string, string] => [
          `material ${m.index}`,
          [m.checkValue, m.keyMaterialId ? `KeyMaterialId ${m.keyMaterialId}` : 'not yet imported', m.validTo === null ? 'no expiry' : m.validTo ? `ValidTo ${m.validTo}` : undefined]
            .filter(Boolean)
            .join('  '),
        ]),
        ['result', 'ok: opened; manifest, sidecar, file hashes and check values match'],
        ['in KMS', inKms],
      ]);
    }
    return ExitCode.ok;
  } finally {
    if ('passphrase' in opener) opener.passphrase.dispose();
  }
}


/** --identity, --passphrase-file or --share (hand-overs, with the one-time identities of the escrow's directory). */
function openerOf(p: Parsed, io: Io, file: string): Promise<EscrowOpener> {
  return readOpener(io, { identities: strs(p, 'identity'), passphraseFile: str(p, 'passphrase-file'), shares: strs(p, 'share'), escrowDir: dirname(resolve(io.cwd, file)) });
}

function oneFile(positionals: string[], example: string): string {
  const file = positionals[0];
  if (file === undefined || positionals.length > 1) {
    throw new KmsByokError('ERR_USAGE', file === undefined ? 'missing the escrow FILE' : 'give exactly one escrow FILE', { hint: example });
  }
  return file;
}

/** Which stock `age` release opens a recipient kind (see docs/escrow-format.md). */
const STOCK_AGE: Record<string, string> = { x25519: 'any age ≥ 1.0', 'pq-hybrid': 'age ≥ 1.3.0 (or age-plugin-pq)' };

async function inspect(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(argv, ESCROW_INSPECT);
  if (bool(p, 'help')) {
    io.stdout.write(helpText(ESCROW_INSPECT));
    return ExitCode.ok;
  }
  const file = oneFile(p.positionals, 'kms-byok escrow inspect escrow/<key-id>.v1.age');
  const loaded = await readEscrow(resolve(io.cwd, file));
  const summary = inspectEscrow(loaded.sidecar);
  const versions = await listVersions(dirname(loaded.sidecarPath), summary.keyId);
  const copies = summary.files.filter((f) => f.role === 'recipients' || f.role === 'passphrase').length;
  const notes: string[] = [];
  if (copies === 2) notes.push('two sealed copies: one for the recipients, one for the passphrase (age allows a passphrase only as a file\'s sole recipient)');
  if (loaded.missing.length > 0) notes.push(`not in this directory (held by custodians): ${loaded.missing.join(', ')}`);
  // Who has not proven receipt yet: custodians with no acknowledgement of this version in the transcript beside it.
  const transcriptText = await readFile(resolve(dirname(loaded.sidecarPath), 'transcript.md'), 'utf8').catch(() => '');
  const acked = acknowledgedRecipients(transcriptText, summary.escrowId, summary.escrowVersion);
  const unacknowledged = summary.custodians.filter((c) => !acked.has(c.recipient)).map((c) => c.label ?? c.recipient);
  if (bool(p, 'json')) {
    printDocument(io, { ...escrowSummaryDocument(resolve(io.cwd, file), loaded.sidecarPath, summary), versions: versions.map((v) => v.escrowVersion), notes, unacknowledged, stockAge: Object.fromEntries(summary.custodians.map((c) => [c.recipient, STOCK_AGE[c.kind]])) });
    return ExitCode.ok;
  }
  printRows(io, [
    ['escrow', `${file} (version ${summary.escrowVersion} of ${versions.map((v) => v.escrowVersion).join(', ')}; ${summary.sealing})`],
    ['key', summary.keyArn],
    ['key spec', `${summary.keySpec} (${summary.keyUsage})${summary.multiRegion ? ', multi-Region' : ''}`],
    ...summary.custodians.map((c, i): [string, string] => [`custodian ${i + 1}`, `${c.label ? `${c.label} ` : ''}${c.recipient} (${c.kind}; opens with ${STOCK_AGE[c.kind]})`]),
    ['passphrase', summary.passphrase ? 'yes (scrypt)' : undefined],
    ['threshold', summary.threshold === undefined ? undefined : `any ${summary.threshold} of ${summary.custodians.length}`],
    ['not acknowledged', summary.custodians.length === 0 ? undefined : unacknowledged.length === 0 ? 'none: every custodian acknowledged receipt' : `${unacknowledged.join(', ')} (kms-byok escrow acknowledge)`],
    ...summary.renewal.map((r, i): [string, string] => [`renewal seal ${i + 1}`, `${r.label ?? 'scheduler'} ${r.recipient} (opens the whole escrow alone: unattended renewal)`]),
    ['created', `${summary.created} by ${summary.createdBy}`],
    ...summary.materials.map((m): [string, string] => [
      `material ${m.index}`,
      [bool(p, 'full-check-value') ? m.checkValue : readableCheckValue(m.checkValue), m.keyMaterialId ? `KeyMaterialId ${m.keyMaterialId}` : 'not yet imported', m.validTo === null ? 'no expiry' : m.validTo ? `ValidTo ${m.validTo}` : undefined]
        .filter(Boolean)
        .join('  '),
    ]),
    ...summary.files.map((f): [string, string] => [`file ${f.role}`, `${f.name}  sha256 ${f.sha256}${f.holder ? `  held by ${f.holder}` : ''}`]),
    ...notes.map((n): [string, string] => ['note', n]),
  ]);
  return ExitCode.ok;
}

/** Opens an escrow file with the opener; the caller disposes the payload. */
async function openFile(file: string, opener: EscrowOpener, io: Io) {
  const loaded = await readEscrow(resolve(io.cwd, file));
  // Offline (export, reseal): a renewal-seal-only opener is a bad local input, exit 2 (docs/custody.md).
  const payload = await openEscrow(loaded, opener, { computeCheckValue: checkValue }).catch((e: unknown) => {
    throw e instanceof KmsByokError && e.code === 'ERR_RENEWAL_SEAL_SCOPE' ? asLocalInputError(e) : e;
  });
  return { loaded, payload };
}

function disposeOpener(opener: EscrowOpener): void {
  if ('passphrase' in opener) opener.passphrase.dispose();
}


/**
 * The sealing of `file`'s version (custodians, labels, threshold or split) with `renewal` added: what
 * `escrow reseal --renewal-recipient` alone seals. A passphrase copy cannot be kept (the passphrase
 * is not known here): such an escrow is resealed with --recipient/--new-passphrase-file.
 */
async function keptSealing(io: Io, file: string, renewal: string[]): Promise<EscrowSealing> {
  const { sidecar } = await readEscrow(resolve(io.cwd, file));
  const c = sidecar.manifest.custodians;
  if (c.passphrase) {
    throw new KmsByokError('ERR_MISSING_INPUT', 'this escrow is also sealed to a passphrase: give the new version\'s custodians', {
      hint: 'add --new-passphrase-file FILE and --recipient NAME=age1… for each custodian, with --renewal-recipient',
    });
  }
  const withRenewal = await readSealingInputs(io, { recipients: c.recipients.map((r) => (r.label ? `${r.label}=${r.recipient}` : r.recipient)), recipientsFiles: [], passphraseFile: undefined, ...(c.threshold !== undefined ? { threshold: String(c.threshold) } : {}), ...(c.split !== undefined ? { split: c.split } : {}), renewalRecipients: renewal });
  // The old version's own renewal seals are kept too.
  const kept = sidecar.files.filter((f) => f.role === 'renewal' && f.holder !== undefined && !withRenewal.renewal?.some((r) => r.recipient === f.holder!.recipient));
  withRenewal.renewal = [...kept.map((f) => ({ ...f.holder! })), ...(withRenewal.renewal ?? [])];
  return withRenewal;
}

async function reseal(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(argv, ESCROW_RESEAL);
  if (bool(p, 'help')) {
    io.stdout.write(helpText(ESCROW_RESEAL));
    return ExitCode.ok;
  }
  const file = oneFile(p.positionals, 'kms-byok escrow reseal escrow/<key-id>.v1.age --identity old.txt --recipient age1…');
  // The new custodians (--passphrase-file opens the old escrow; --new-passphrase-file seals the new one).
  // Only --renewal-recipient: the same custodians (and split) as the old version, plus the renewal seals.
  const keepCustodians =
    strs(p, 'recipient').length === 0 && strs(p, 'recipients-file').length === 0 && str(p, 'new-passphrase-file') === undefined && strs(p, 'renewal-recipient').length > 0;
  if (keepCustodians && (str(p, 'threshold') !== undefined || str(p, 'split') !== undefined)) {
    throw new KmsByokError('ERR_USAGE', '--threshold and --split describe new custodians: give them with --recipient', { hint: 'with only --renewal-recipient, the old version\'s custodians and split are kept' });
  }
  const sealing = keepCustodians
    ? await keptSealing(io, file, strs(p, 'renewal-recipient'))
    : await readSealingInputs(io, {
    recipients: strs(p, 'recipient'),
    recipientsFiles: strs(p, 'recipients-file'),
    passphraseFile: str(p, 'new-passphrase-file'),
    ...(str(p, 'threshold') !== undefined ? { threshold: str(p, 'threshold')! } : {}),
    ...(str(p, 'split') !== undefined ? { split: str(p, 'split')! } : {}),
    renewalRecipients: strs(p, 'renewal-recipient'),
  });
  const opener = await openerOf(p, io, file).catch((e: unknown) => {
    sealing.passphrase?.dispose();
    throw e;
  });
  let payload: EscrowPayload | undefined;
  try {
    const opened = await openFile(file, opener, io);
    payload = opened.payload;
    const dir = dirname(opened.loaded.sidecarPath);
    assertDirectorySafe(dir); // a new version goes there: only its owner may change it
    const contents = resealContents(payload, { created: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'), createdBy: operator(), previousSidecar: opened.loaded.sidecar });
    contents.escrowVersion = await nextEscrowVersion(dir, payload.manifest.keyId);
    try {
      const sealed = await sealEscrow(contents, sealing, { computeCheckValue: checkValue });
      const written = await writeSealedEscrow(dir, payload.manifest.keyId, sealed);
      await updateSidecar(written.sidecarPath, (s) => carryOverFacts(s, opened.loaded.sidecar));
      say(io, 'note', `old version kept: ${file}`);
      await consumeHandover(opener, io);
      if (bool(p, 'json')) printDocument(io, { escrow: escrowRef(written.path, { sidecarPath: written.sidecarPath, version: contents.escrowVersion, files: written.files }), previous: escrowRef(resolve(io.cwd, file)) });
      else printRows(io, [['escrow', written.path], ['version', String(contents.escrowVersion)], ['previous', `${file} (kept)`]]);
      return ExitCode.ok;
    } finally {
      for (const m of contents.materials) m.material.dispose();
    }
  } finally {
    if (payload) disposePayload(payload);
    disposeOpener(opener);
    sealing.passphrase?.dispose();
  }
}

async function exportMaterial(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(argv, ESCROW_EXPORT);
  if (bool(p, 'help')) {
    io.stdout.write(helpText(ESCROW_EXPORT));
    return ExitCode.ok;
  }
  const file = oneFile(p.positionals, 'kms-byok escrow export escrow/<key-id>.v1.age --identity custodian.txt --insecure-plaintext --out material.bin');
  if (!bool(p, 'insecure-plaintext')) {
    throw new KmsByokError('ERR_MISSING_INPUT', 'missing --insecure-plaintext: export writes the raw key material to a file', {
      hint: 'only for disaster recovery; prefer kms-byok restore. Pass --insecure-plaintext --out FILE to confirm',
    });
  }
  const out = str(p, 'out');
  if (out === undefined || out === '-') {
    throw new KmsByokError('ERR_MISSING_INPUT', 'missing --out FILE: the material is never written to a terminal or stdout', { hint: 'pass --out material.bin (created 0600, never overwritten)' });
  }
  const opener = await openerOf(p, io, file);
  try {
    const { payload } = await openFile(file, opener, io);
    try {
      const wanted = str(p, 'material');
      const index = wanted === undefined ? payload.materials.length : Number(wanted);
      const m = payload.materials.find((x) => x.index === index);
      if (!m || (wanted !== undefined && !/^\d+$/.test(wanted))) {
        throw new KmsByokError('ERR_INVALID_ARGUMENT', `invalid --material "${wanted}": the escrow holds materials 1 to ${payload.materials.length}`, { hint: 'kms-byok escrow inspect lists them' });
      }
      const path = resolve(io.cwd, out);
      let handle;
      try {
        // Exclusive, never through a link (ERR_UNSAFE_PATH): docs/architecture.md, safe files.
        handle = await openExclusive(path, '--out');
      } catch (e) {
        if (e instanceof KmsByokError) throw asLocalInputError(e); // export makes no KMS request
        const code = (e as { code?: string }).code;
        throw new KmsByokError(code === 'EEXIST' ? 'ERR_ESCROW_EXISTS' : 'ERR_FILE_READ', code === 'EEXIST' ? `${out} already exists` : `cannot create ${out} (${code ?? 'error'})`, {
          hint: code === 'EEXIST' ? 'export never overwrites a file: choose a new --out path' : 'check the --out path',
        });
      }
      try {
        await m.material.use((bytes) => handle.write(bytes, 0, bytes.length, 0));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await consumeHandover(opener, io);
      say(io, 'warning', `${out} holds key material ${m.index} in plaintext: import it, then destroy it (shred -u ${out})`);
      if (bool(p, 'json')) printDocument(io, { out: resolve(io.cwd, out), material: { index: m.index, checkValue: m.checkValue }, bytes: m.material.length });
      else printRows(io, [['written', `${out} (mode 0600)`], ['material', String(m.index)], ['check value', m.checkValue]]);
      return ExitCode.ok;
    } finally {
      disposePayload(payload);
    }
  } finally {
    disposeOpener(opener);
  }
}

/**
 * Refuses (ERR_ACK_WRONG_CUSTODIAN, exit 2) a name that is not the custodian's label: equal to it, or
 * containing it as a word ("Alice Example" for `alice`), case-insensitively; and a name that names
 * another custodian's label instead. An unlabelled custodian may give any name that names no other.
 */
function assertNameMatchesLabel(name: string, label: string | undefined, others: string[]): void {
  const words = (t: string) => t.toLowerCase().split(/[^\p{L}\p{N}_-]+/u).filter(Boolean);
  const names = (l: string) => name.toLowerCase() === l.toLowerCase() || (words(l).length > 0 && words(l).every((w) => words(name).includes(w)));
  if (label !== undefined && names(label)) return;
  const other = others.find((o) => names(o));
  if (label === undefined && other === undefined) return;
  throw new KmsByokError('ERR_ACK_WRONG_CUSTODIAN', `this identity holds the part sealed to ${label === undefined ? 'an unlabelled custodian' : JSON.stringify(label)}, not to ${JSON.stringify(name)}`, {
    hint: label === undefined ? `acknowledge under your own name; "${other}" is another custodian` : `acknowledge as ${JSON.stringify(label)} (e.g. --name "${label}"), with your own identity`,
  });
}

/**
 * `escrow acknowledge FILE --identity ME --name "…"`: a custodian confirms receipt of what they hold.
 * Their identity must open their own share or component file (or, for a plain escrow, the escrow
 * itself): possession is proven, not asserted. The confirmation — name, holder recipient, file,
 * SHA-256, escrow id, time — is appended to the ceremony transcript. Nothing secret is printed or kept.
 */
async function acknowledge(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(argv, ESCROW_ACKNOWLEDGE);
  if (bool(p, 'help')) {
    io.stdout.write(helpText(ESCROW_ACKNOWLEDGE));
    return ExitCode.ok;
  }
  const file = oneFile(p.positionals, 'kms-byok escrow acknowledge escrow/<key-id>.v1.age --identity alice.txt --name "Alice Example"');
  const name = str(p, 'name')?.trim();
  if (!name) throw new KmsByokError('ERR_MISSING_INPUT', 'missing --name: who acknowledges receipt', { hint: 'pass --name "Full Name" as it should appear in the ceremony record' });
  const opener = await readOpener(io, { identities: strs(p, 'identity'), passphraseFile: undefined });
  if (!('identities' in opener)) throw new KmsByokError('ERR_USAGE', 'acknowledge takes --identity', { hint: 'the custodian\'s own age identity file' });
  const loaded = await readEscrow(resolve(io.cwd, file));
  const mine = new Set<string>();
  for (const id of opener.identities) mine.add(await recipientOfIdentity(id));
  const held = loaded.sidecar.files.filter((f) => (f.role === 'share' || f.role === 'component') && f.holder !== undefined && mine.has(f.holder.recipient));
  const plain = loaded.sidecar.files.find((f) => f.role === 'recipients');
  const entry = held[0] ?? (plain && loaded.sidecar.manifest.custodians.recipients.some((r) => mine.has(r.recipient)) ? plain : undefined);
  if (!entry) {
    throw new KmsByokError('ERR_IDENTITY', 'this identity is not a custodian of this escrow', { hint: 'use the identity whose recipient is listed by kms-byok escrow inspect' });
  }
  const m = loaded.sidecar.manifest;
  const custodian = m.custodians.recipients.find((r) => mine.has(r.recipient));
  // The name must be the label this identity's part is sealed under (docs/custody.md, "Acknowledgements").
  assertNameMatchesLabel(name, custodian?.label, m.custodians.recipients.filter((r) => r !== custodian).map((r) => r.label).filter((l): l is string => l !== undefined));
  const bytes = loaded.files.find((f) => f.name === entry.name)?.bytes;
  if (!bytes) throw new KmsByokError('ERR_ESCROW_NOT_FOUND', `${entry.name} is not beside the sidecar`, { hint: 'acknowledge next to the file you hold' });
  let checkValues: string[];
  if (entry.role === 'recipients') {
    const payload = await openEscrow({ sidecar: loaded.sidecar, files: loaded.files }, { identities: opener.identities }, { computeCheckValue: checkValue });
    checkValues = payload.materials.map((x) => x.checkValue);
    disposePayload(payload);
  } else {
    const secret = await openCustodianFile(bytes, opener.identities, entry.name);
    try {
      checkValues = custodianPart(secret, loaded.sidecar).checkValues;
    } finally {
      secret.dispose();
    }
  }
  const time = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const { appendTranscript } = await import('../ceremony-run.js');
  const transcript = str(p, 'transcript') ? resolve(io.cwd, str(p, 'transcript')!) : resolve(dirname(loaded.sidecarPath), 'transcript.md');
  // The acknowledgement IS the transcript entry: a transcript that cannot be written fails it (a
  // directory, no permission), with its code rather than as an internal error.
  await appendTranscript(io, transcript, {
    ceremony: 'custodian acknowledgement',
    time,
    outcome: `${name} confirmed receipt of ${entry.role === 'recipients' ? 'the escrow' : `${entry.role} ${entry.index ?? ''}`.trim()} and opened it with their identity`,
    fields: [
      ['custodian', `${name}${custodian?.label ? ` (${custodian.label})` : ''}`],
      ['recipient', custodian?.recipient],
      ['key', m.keyArn],
      ['escrow', `${m.escrowId} version ${m.escrowVersion}`],
      ['file (SHA-256)', `${entry.name} ${entry.sha256}`],
      [entry.role === 'recipients' ? 'check values (materials)' : `check value (${entry.role})`, checkValues.join(', ')],
      ['operator', operator()],
    ],
  }).catch((e: unknown) => {
    if (e instanceof KmsByokError) throw e.code === 'ERR_UNSAFE_PATH' ? asLocalInputError(e) : e; // acknowledge makes no KMS request
    const code = (e as { code?: string }).code;
    throw new KmsByokError('ERR_FILE_READ', `cannot append the acknowledgement to the transcript ${transcript} (${code ?? 'error'})`, { hint: 'give --transcript a writable file (not a directory), or run it where the escrow\'s transcript.md is writable' });
  });
  const result = { acknowledged: true, name, ...(custodian?.label ? { label: custodian.label } : {}), checkValues, file: { name: entry.name, role: entry.role, sha256: entry.sha256 }, escrow: escrowRef(resolve(io.cwd, file), { version: m.escrowVersion }), escrowId: m.escrowId, time, transcript };
  if (bool(p, 'json')) printDocument(io, result);
  else printRows(io, [['acknowledged', `${name}: ${entry.name}`], ['check value', checkValues.join(', ')], ['sha256', entry.sha256], ['recorded in', transcript]]);
  return ExitCode.ok;
}
