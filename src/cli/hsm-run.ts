/**
 * The CLI's HSM custody edge (`--custody pkcs11`, docs/hsm.md): reads the PKCS#11 flags and the PIN,
 * opens the token (loading the binding only now), keeps the custody record files, and runs the HSM
 * ceremonies of `ceremony/hsm.ts`. Commands reach it by a dynamic import when `--custody pkcs11` is given.
 *
 * The PIN: `--pin-file FILE` (a 0600 file, like every secret input) or a prompt on the terminal; a
 * `--pin` flag is refused (argv is visible to every user of the machine), and nothing is passed to
 * child processes.
 */
import { lstat, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ExitCode, KmsByokError, asLocalInputError } from '../core/errors.js';
import { SecretBytes } from '../core/secret.js';
import { parseKeySpec, parseKeyUsage, parseWrappingAlgorithm, parseWrappingKeySpec, importableKeySpecInfo, chooseWrapping, assertKeyUsageAllowed, assertWrappingAllowed } from '../material/key-specs.js';
import { assertAliasName } from '../core/alias.js';
import { describeExternalKey } from '../ceremony/shared.js';
import type { HsmDeps, HsmRecord, HsmResult, RotateEscrow } from '../ceremony/hsm.js';
import { ALSO_ESCROW_STATEMENT, HSM_RECORD_FORMAT } from '../ceremony/hsm.js';
import { readableCheckValue } from '../material/check-value.js';
import type { ExpiryChoice } from '../ceremony/onboard.js';
import { assertDirectorySafe, createExclusive, replaceAtomic, syncDirectory, isSymlink, unsafePath } from '../records/safe-files.js';
import { ensureDirectory } from '../escrow/file-store.js';
import { bool, str, strs, type Parsed } from './args.js';
import { say, type Io } from './io.js';
import { printRows } from './render.js';
import { printDocument } from './documents.js';
import { openTarget, type Target } from './target.js';
import { openEscrowVault, readOnboardSealing, readPassphrase, readSealingInputs } from './escrow-inputs.js';
import { operator } from '../airgap/bundles.js';
import { appendTranscript, preflightTranscript, transcriptPathOf } from './ceremony-run.js';
import { fileEscrowStore, latestEscrow } from './context.js';
import { openOnboardJournal, type OnboardJournal } from '../records/onboard-journal.js';

/** True when the command was asked for HSM custody; refuses a --pin flag whatever the custody. */
export function wantsHsmCustody(p: Parsed): boolean {
  if (p.values.pin !== undefined) {
    throw new KmsByokError('ERR_USAGE', '--pin is refused: a PIN on the command line is visible to every user of this machine (ps, /proc) and kept in shell history', {
      hint: 'put the PIN in a file only you can read (chmod 600) and pass --pin-file FILE, or leave both out to be prompted on the terminal',
    });
  }
  const custody = str(p, 'custody');
  if (custody === undefined || custody === 'escrow') {
    const stray = ['pkcs11-uri', 'pkcs11-module', 'pin-file', 'also-escrow'].find((f) => p.values[f] !== undefined);
    if (stray) throw new KmsByokError('ERR_USAGE', `--${stray} needs --custody pkcs11`, { hint: 'add --custody pkcs11 (docs/hsm.md)' });
    return false;
  }
  if (custody !== 'pkcs11') throw new KmsByokError('ERR_INVALID_ARGUMENT', `unknown --custody "${custody}"`, { hint: 'escrow (default: an age escrow) or pkcs11 (a PKCS#11 token, docs/hsm.md)' });
  return true;
}

/** Reads the PIN from a terminal without echo. */
async function promptPin(io: Io, label: string): Promise<SecretBytes> {
  if (!io.interactive) {
    throw new KmsByokError('ERR_MISSING_INPUT', `no PIN for token ${label}: --pin-file FILE is needed when not on a terminal`, { hint: 'pass --pin-file FILE (a 0600 file holding the user PIN)' });
  }
  const stdin = io.stdin as NodeJS.ReadStream;
  io.stderr.write(`PIN for token ${label}: `);
  stdin.setRawMode?.(true);
  const bytes: number[] = [];
  try {
    await new Promise<void>((done, fail) => {
      const onData = (chunk: Buffer) => {
        for (const b of chunk) {
          if (b === 0x0d || b === 0x0a) { stdin.off('data', onData); done(); return; }
          if (b === 0x03) { stdin.off('data', onData); fail(new KmsByokError('ERR_CANCELLED', 'PIN entry cancelled')); return; }
          if (b === 0x7f) bytes.pop();
          else bytes.push(b);
        }
        chunk.fill(0);
      };
      stdin.on('data', onData);
      stdin.resume();
    });
  } finally {
    stdin.setRawMode?.(false);
    stdin.pause();
    io.stderr.write('\n');
  }
  const pin = SecretBytes.take(Uint8Array.from(bytes));
  bytes.fill(0);
  return pin;
}

/** Reads the PIN file (0600, no trailing newline kept). */
async function readPin(io: Io, file: string): Promise<SecretBytes> {
  return readPassphrase(resolve(io.cwd, file), io);
}

export interface OpenedCustody {
  custody: import('../ceremony/ports.js').TokenCustody;
  close(): void;
}

/** Opens the token the flags name and logs in; every failure here is before any KMS request (exit 2). */
export async function openCustody(p: Parsed, io: Io): Promise<OpenedCustody> {
  const uriText = str(p, 'pkcs11-uri');
  if (uriText === undefined) throw new KmsByokError('ERR_MISSING_INPUT', 'missing --pkcs11-uri: which token holds the key', { hint: "pass --pkcs11-uri 'pkcs11:token=LABEL' (RFC 7512)" });
  const modulePath = str(p, 'pkcs11-module') ?? io.env.KMS_BYOK_PKCS11_MODULE;
  if (modulePath === undefined) {
    throw new KmsByokError('ERR_MISSING_INPUT', 'missing --pkcs11-module PATH: the PKCS#11 library of the token', { hint: 'pass --pkcs11-module /usr/lib/softhsm/libsofthsm2.so (or set KMS_BYOK_PKCS11_MODULE)' });
  }
  const { parsePkcs11Uri, openToken, Pkcs11Custody } = await import('../custody/pkcs11/index.js');
  const uri = parsePkcs11Uri(uriText);
  const pinFile = str(p, 'pin-file');
  const pin = pinFile !== undefined ? await readPin(io, pinFile) : await promptPin(io, uri.token ?? uri.serial ?? '(from --pkcs11-uri)');
  try {
    const token = await openToken(resolve(io.cwd, modulePath), uri, pin);
    return { custody: new Pkcs11Custody(token), close: () => token.close() };
  } catch (e) {
    throw asLocalInputError(e);
  } finally {
    pin.dispose();
  }
}

/** The custody record of a key: `<escrow-dir>/<key-id>.pkcs11.json` (docs/hsm.md, "The custody record"). */
export function recordPathOf(dir: string, keyId: string): string {
  return join(dir, `${keyId}.pkcs11.json`);
}

/** Custody records: created exclusively (0600) and fsynced with their directory; later replaced atomically. */
function recordStore(dir: string): HsmDeps['records'] {
  return {
    async create(record) {
      const path = recordPathOf(dir, record.key.keyId);
      await createExclusive(path, `${JSON.stringify(record, null, 2)}\n`, 'custody record');
      await syncDirectory(dir);
      return path;
    },
    async replace(path, record) {
      await replaceAtomic(path, `${JSON.stringify(record, null, 2)}\n`, 'custody record');
    },
    async existing(keyId) {
      const path = recordPathOf(dir, keyId);
      if (!(await lstat(path).then(() => true, () => false))) return undefined;
      return { path, record: await readRecord(path) };
    },
  };
}

async function readRecord(path: string): Promise<HsmRecord> {
  if (await isSymlink(path)) throw unsafePath(path, 'custody record');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new KmsByokError('ERR_ESCROW_NOT_FOUND', `no custody record ${path} (${(e as { code?: string }).code ?? 'error'})`, { hint: 'pass the --escrow-dir the onboard with --custody pkcs11 wrote it to' });
  }
  let record: HsmRecord;
  try {
    record = JSON.parse(text) as HsmRecord;
  } catch {
    throw new KmsByokError('ERR_ESCROW_FORMAT', `custody record ${path} is not JSON`, { hint: 'restore it from a backup; it holds no secret' });
  }
  if (record.format !== HSM_RECORD_FORMAT || record.version !== 1 || !Array.isArray(record.materials) || record.materials.length === 0) {
    throw new KmsByokError('ERR_ESCROW_FORMAT', `${path} is not a kms-byok PKCS#11 custody record`, { hint: 'restore it from a backup; it holds no secret' });
  }
  return record;
}

async function escrowDirFor(p: Parsed, io: Io): Promise<string> {
  const dir = resolve(io.cwd, str(p, 'escrow-dir') ?? 'escrow');
  await ensureDirectory(dir);
  assertDirectorySafe(dir);
  return dir;
}

function deps(target: Target, io: Io, custody: OpenedCustody, dir: string): HsmDeps {
  return {
    kms: target.kms,
    now: target.now,
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    progress: (step) => say(io, null, `✓ ${step}`),
    custody: custody.custody,
    records: recordStore(dir),
  };
}

function render(io: Io, p: Parsed, r: HsmResult, target: string): void {
  if (bool(p, 'json')) {
    printDocument(io, { ...r, target });
    return;
  }
  printRows(io, [
    ['key', r.keyArn],
    ['alias', r.alias],
    ['state', `${r.keyState} (origin EXTERNAL, ${r.keySpec})`],
    ['custody', `pkcs11: ${r.token}`],
    ['token key', r.object],
    ['check value', (bool(p, 'full-check-value') ? r.checkValues : r.checkValues.map(readableCheckValue)).join('  ')],
    ['KeyMaterialId', r.keyMaterialId],
    ['rotated', r.rotated ? `${r.rotated.previous ?? '?'} → ${r.rotated.current}` : undefined],
    ['expiry', r.validTo ? `${r.validTo} (KEY_MATERIAL_EXPIRES)` : 'never (KEY_MATERIAL_DOES_NOT_EXPIRE)'],
    ['wrapping', `${r.wrappingAlgorithm} with ${r.wrappingKeySpec}, inside the token`],
    ['verified', r.verified],
    ['record', r.record],
    ['also escrow', r.escrow ? `${r.escrow} (the plaintext existed outside the HSM once, while sealing)` : undefined],
    ['target', target],
  ]);
}

type Kind = 'onboard' | 'reimport' | 'restore' | 'rotate' | 'verify';

/** The escrow sealing flags: with --custody pkcs11 they apply only with --also-escrow. */
const SEALING_FLAGS = ['recipient', 'recipients-file', 'passphrase-file', 'threshold', 'split', 'renewal-recipient'];

/**
 * Runs one HSM-custody command. Order: every local input and the token (PIN, mechanisms, labels) are
 * checked before the target is opened; the transcript gets an entry, failures included.
 */
export async function runHsmCommand(kind: Kind, p: Parsed, io: Io, expiry: ExpiryChoice | undefined, argv?: string[]): Promise<number> {
  if (kind !== 'onboard' && p.positionals.length !== 1) {
    throw new KmsByokError('ERR_USAGE', `${kind} with --custody pkcs11 takes one KEY`, { hint: `run it once per key` });
  }
  const dir = await escrowDirFor(p, io);
  const transcript = transcriptPathOf(p, io, dir);
  await preflightTranscript(transcript);
  // Onboard inputs, parsed before the token is opened.
  let onboard: import('../ceremony/hsm.js').HsmOnboardOptions | undefined;
  let escrowVault: HsmDeps['escrow'];
  if (kind === 'onboard') {
    const keySpec = str(p, 'key-spec') === undefined ? 'SYMMETRIC_DEFAULT' : parseKeySpec(str(p, 'key-spec')!);
    const keyUsage = str(p, 'key-usage') === undefined ? importableKeySpecInfo(keySpec).defaultKeyUsage : parseKeyUsage(str(p, 'key-usage')!);
    assertKeyUsageAllowed(keySpec, keyUsage);
    const chosen = chooseWrapping(keySpec);
    const wrapping = {
      WrappingAlgorithm: str(p, 'wrapping-algorithm') === undefined ? chosen.algorithm : parseWrappingAlgorithm(str(p, 'wrapping-algorithm')!),
      WrappingKeySpec: str(p, 'wrapping-key-spec') === undefined ? chosen.wrappingKeySpec : parseWrappingKeySpec(str(p, 'wrapping-key-spec')!),
    };
    assertWrappingAllowed(keySpec, wrapping.WrappingAlgorithm, wrapping.WrappingKeySpec);
    const escrowAlso = bool(p, 'also-escrow');
    const refused = ['material-file', 'export-parameters'].find((f) => p.values[f] !== undefined);
    if (refused) {
      throw new KmsByokError('ERR_INVALID_COMBINATION', `--${refused} does not apply with --custody pkcs11: the material is generated and kept in the token`, { hint: 'drop it (docs/hsm.md)' });
    }
    const sealingFlag = SEALING_FLAGS.find((f) => p.values[f] !== undefined);
    if (!escrowAlso && sealingFlag) {
      throw new KmsByokError('ERR_INVALID_COMBINATION', `--${sealingFlag} does not apply with --custody pkcs11 alone: the material is generated and kept in the token`, {
        hint: 'drop it, or add --also-escrow to seal an age escrow of the token key too (its plaintext then exists outside the HSM once, while sealing; docs/hsm.md)',
      });
    }
    if (escrowAlso && !['recipient', 'recipients-file', 'passphrase-file'].some((f) => p.values[f] !== undefined)) {
      throw new KmsByokError('ERR_MISSING_INPUT', '--also-escrow needs the custodians who can open the escrow', {
        hint: 'add --recipient age1… (each custodian), --recipients-file FILE or --passphrase-file FILE; or drop --also-escrow to keep the material only in the token',
      });
    }
    const alias = str(p, 'alias');
    onboard = {
      keySpec,
      keyUsage,
      wrapping,
      expiry: expiry!,
      createdBy: operator(),
      ...(alias !== undefined ? { alias: assertAliasName(alias) } : {}),
      ...(str(p, 'description') ? { description: str(p, 'description')! } : {}),
    };
    if (escrowAlso) {
      const sealing = await readOnboardSealing(p, io);
      onboard.alsoEscrow = { sealing };
      try {
        escrowVault = { ...(await openEscrowVault(dir, io)), latest: (keyId: string) => latestEscrow(dir, keyId) };
      } catch (e) {
        sealing.passphrase?.dispose();
        throw e;
      }
      say(io, 'warning', `--also-escrow: ${ALSO_ESCROW_STATEMENT.replace(' existed ', ' will exist ').replace('was sealed', 'is sealed')}. Without --also-escrow it never would.`);
    }
  }
  // The journal is named by this invocation's inputs, as the software onboard's: the same command
  // finds the run it interrupted (docs/hsm.md, "Interrupted onboards").
  let rotateEscrow: RotateEscrow | undefined;
  let rotatePassphrase: SecretBytes | undefined;
  try {
    if (kind === 'rotate' && bool(p, 'also-escrow')) ({ rotateEscrow, passphrase: rotatePassphrase } = await rotateEscrowOf(p, io, dir));
    const journal = onboard ? await openOnboardJournal(p, io, dir) : undefined;
    return await runWithToken(kind, p, io, expiry, dir, transcript, onboard, escrowVault, journal, argv, rotateEscrow);
  } finally {
    onboard?.alsoEscrow?.sealing.passphrase?.dispose();
    rotatePassphrase?.dispose();
  }
}

/**
 * `rotate --in-place --custody pkcs11 --also-escrow`: the new escrow version's custodians are the
 * --recipient flags, else the previous version's (its passphrase, if it had one, from --passphrase-file).
 */
async function rotateEscrowOf(p: Parsed, io: Io, dir: string): Promise<{ rotateEscrow: RotateEscrow; passphrase?: SecretBytes }> {
  const recipients = strs(p, 'recipient');
  const passphraseFile = str(p, 'passphrase-file');
  const flags = recipients.length > 0 ? await readSealingInputs(io, { recipients, recipientsFiles: [], passphraseFile: undefined }) : undefined;
  const passphrase = passphraseFile !== undefined ? await readPassphrase(resolve(io.cwd, passphraseFile), io) : undefined;
  const store = fileEscrowStore({ dir, ...(passphrase ? { opener: { passphrase } } : {}), ...(flags ? { sealing: flags } : {}) });
  say(io, 'warning', `--also-escrow: ${ALSO_ESCROW_STATEMENT.replace(' existed ', ' will exist ').replace('was sealed', 'is sealed')} — for every material of the key. Without --also-escrow it never would.`);
  return {
    ...(passphrase ? { passphrase } : {}),
    rotateEscrow: {
      latest: (keyId) => store.latest(keyId),
      nextVersion: (keyId) => store.nextVersion(keyId),
      write: (sealed) => store.write(sealed),
      recordImport: (sidecarPath, fact) => store.recordImport(sidecarPath, fact),
      sealingFor(sidecar) {
        if (flags) return flags;
        if (!sidecar) {
          throw new KmsByokError('ERR_MISSING_INPUT', '--also-escrow needs the custodians: the key has no escrow whose custodians the new version could keep', { hint: 'add --recipient age1… for each custodian' });
        }
        return store.sealingFor(sidecar);
      },
    },
  };
}

async function runWithToken(
  kind: Kind,
  p: Parsed,
  io: Io,
  expiry: ExpiryChoice | undefined,
  dir: string,
  transcript: string,
  onboard: import('../ceremony/hsm.js').HsmOnboardOptions | undefined,
  escrowVault: HsmDeps['escrow'],
  journal: OnboardJournal | undefined,
  argv: string[] | undefined,
  rotateEscrow?: RotateEscrow,
): Promise<number> {
  const opened = await openCustody(p, io);
  try {
    if (onboard) {
      const { parsePkcs11Uri } = await import('../custody/pkcs11/index.js');
      const label = parsePkcs11Uri(str(p, 'pkcs11-uri')!).object;
      if (label !== undefined) onboard.objectLabel = label;
      // No --wrapping-algorithm: the strongest one KMS accepts for the spec that the token can do.
      if (str(p, 'wrapping-algorithm') === undefined) {
        const best = opened.custody.wrappingsFor(onboard.keySpec)[0];
        if (best) onboard.wrapping = { ...onboard.wrapping, WrappingAlgorithm: best };
      }
      // Before any KMS request: the token can do what this onboard needs.
      opened.custody.assertCanWrap(onboard.keySpec, onboard.wrapping);
      // A resumed onboard looks for its own key under that label instead (ceremony/hsm.ts).
      if (label !== undefined && !journal?.resumed.keyId) opened.custody.assertLabelFree(label);
    }
    const requests: string[] = [];
    const target = await openTarget(p, io, { onRequest: (op, id) => requests.push(`${op} ${id ?? '(no request id)'}`) });
    const started = new Date();
    let result: HsmResult | undefined;
    let failure: unknown;
    try {
      const d = { ...deps(target, io, opened, dir), ...(escrowVault ? { escrow: escrowVault } : {}) };
      const hsm = await import('../ceremony/hsm.js');
      if (onboard) {
        result = await hsm.runHsmOnboard(onboard, { ...d, ...(journal ? { journal, resumeCommand: `kms-byok onboard ${(argv ?? []).join(' ')}` } : {}) });
        await journal?.finish();
      }
      else {
        const key = await describeExternalKey(target.kms, p.positionals[0]!);
        const recordPath = recordPathOf(dir, key.KeyId);
        const record = await readRecord(recordPath);
        if (kind === 'verify') result = await hsm.runHsmVerify({ key, record, recordPath }, d);
        else if (kind === 'rotate') result = await hsm.runHsmRotateInPlace({ key, record, recordPath, expiry: expiry!, ...(rotateEscrow ? { alsoEscrow: true } : {}) }, { ...d, ...(rotateEscrow ? { rotateEscrow } : {}) });
        else result = await hsm.runHsmReimport({ key, record, recordPath, expiry: expiry!, mode: kind === 'restore' ? 'restore' : 'reimport' }, d);
      }
      render(io, p, result, target.label);
      return ExitCode.ok;
    } catch (e) {
      failure = e;
      throw e;
    } finally {
      try {
        await appendTranscript(io, transcript, {
          ceremony: kind === 'rotate' ? 'rotate (in place)' : kind,
          time: started.toISOString().replace(/\.\d{3}Z$/, 'Z'),
          outcome: result ? `${result.keyId} ${result.keyState}; ${result.verified}` : failure instanceof KmsByokError ? `failed: ${failure.code}: ${failure.message}` : `failed: ${String(failure)}`,
          fields: [
            ['operator', operator()],
            ['target', target.label],
            ['key', result?.keyArn ?? journal?.facts().keyArn ?? p.positionals[0]],
            ['journal', journal && !result ? `${journal.path} (re-run the same command to finish)` : undefined],
            ['custody', result ? `pkcs11: ${result.token}, ${result.object}` : 'pkcs11'],
            ['check value', result?.checkValues.join(', ')],
            ['record', result?.record],
            ['also escrow', onboard?.alsoEscrow || rotateEscrow ? `${result?.escrow ?? '(not sealed)'} — ${ALSO_ESCROW_STATEMENT}` : undefined],
            ['KMS requests', requests],
          ],
        }).catch((e: unknown) => {
          if (failure === undefined) throw e;
          say(io, 'error', `the transcript entry could not be written: ${e instanceof Error ? e.message : String(e)}`);
        });
      } finally {
        await target.close();
      }
    }
  } finally {
    opened.close();
  }
}

/**
 * `revoke --custody pkcs11`: the proof a revoke needs (docs/lifecycle.md) comes from the token — it
 * holds the recorded material and KMS accepts it again — instead of an opened escrow.
 */
export async function proveCustodyBeforeRevoke(p: Parsed, io: Io, keyRef: string): Promise<string> {
  const dir = await escrowDirFor(p, io);
  const opened = await openCustody(p, io);
  try {
    const target = await openTarget(p, io, { quiet: true });
    try {
      const key = await describeExternalKey(target.kms, keyRef);
      const recordPath = recordPathOf(dir, key.KeyId);
      const record = await readRecord(recordPath);
      const { runHsmVerify } = await import('../ceremony/hsm.js');
      const r = await runHsmVerify({ key, record, recordPath }, deps(target, io, opened, dir));
      return `${recordPath} (${r.token}; KMS accepted the token's key)`;
    } finally {
      await target.close();
    }
  } finally {
    opened.close();
  }
}
