/**
 * `kms-byok escrow verify FILE`: opens a sealed escrow with a custodian's identity or passphrase,
 * checks manifest, sidecar, file hashes and every material's check value, and prints the non-secret
 * facts — never the material. A check that fails exits 3 (attention); a file that cannot be opened
 * exits 1.
 */
import { resolve } from 'node:path';
import { ExitCode, KmsByokError } from '../../core/errors.js';
import { checkValue } from '../../material/check-value.js';
import { disposePayload, inspectEscrow, openEscrow, type EscrowSummary } from '../../escrow/index.js';
import { readEscrow } from '../../escrow/file-store.js';
import { OUTPUT_FLAGS, bool, parseFlags, str, strs } from '../args.js';
import { say, type Io } from '../io.js';
import { printJson, printRows } from '../render.js';
import { ESCROW_USAGE } from '../usage.js';
import { readOpener } from '../escrow-inputs.js';

/** Failures of an escrow check that mean "this escrow does not match itself": attention, exit 3. */
const MISMATCH_CODES = new Set(['ERR_CHECK_VALUE_MISMATCH', 'ERR_ESCROW_MISMATCH', 'ERR_ESCROW_TAMPERED']);

export async function escrow(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    io.stdout.write(ESCROW_USAGE);
    return sub === undefined ? ExitCode.usage : ExitCode.ok;
  }
  if (sub === 'verify') return verify(rest, io);
  throw new KmsByokError('ERR_USAGE', `unknown escrow command "${sub}"`, { hint: 'run kms-byok escrow --help' });
}

async function verify(argv: string[], io: Io): Promise<number> {
  const p = parseFlags(argv, { ...OUTPUT_FLAGS, identity: { type: 'string', multiple: true }, 'passphrase-file': { type: 'string' } }, 'escrow verify');
  if (bool(p, 'help')) {
    io.stdout.write(ESCROW_USAGE);
    return ExitCode.ok;
  }
  const file = p.positionals[0];
  if (file === undefined || p.positionals.length > 1) {
    throw new KmsByokError('ERR_USAGE', file === undefined ? 'missing the escrow FILE to verify' : 'give exactly one escrow FILE', { hint: 'kms-byok escrow verify escrow/<key-id>.v1.age --identity custodian.txt' });
  }
  const opener = await readOpener(io, { identities: strs(p, 'identity'), passphraseFile: str(p, 'passphrase-file') });
  try {
    const loaded = await readEscrow(resolve(io.cwd, file));
    let summary: EscrowSummary;
    try {
      const payload = await openEscrow(loaded, opener, { computeCheckValue: checkValue });
      disposePayload(payload);
      summary = inspectEscrow(loaded.sidecar);
    } catch (e) {
      if (e instanceof KmsByokError && MISMATCH_CODES.has(e.code)) {
        say(io, 'error', e.message);
        say(io, 'hint', e.hint ?? 'do not import from this escrow; compare it with the custodians\' copies');
        io.stderr.write(`kms-byok: code: ${e.code}\n`);
        if (bool(p, 'json')) printJson(io, { ok: false, code: e.code, message: e.message });
        return ExitCode.attention;
      }
      throw e;
    }
    if (bool(p, 'json')) {
      printJson(io, { ok: true, file, ...summary });
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
      ]);
    }
    return ExitCode.ok;
  } finally {
    if ('passphrase' in opener) opener.passphrase.dispose();
  }
}
