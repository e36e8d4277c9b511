/**
 * The filesystem edge of the air-gapped ceremony, and the local inputs shared by `onboard` and the
 * offline `wrap` step (material files, the operator's name). Imports nothing that reaches KMS: `wrap`
 * loads this on a machine with no network and no AWS SDK.
 */
import { constants as fsConstants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { createExclusive, isSymlink, unsafePath } from '../records/safe-files.js';
import { hostname, userInfo } from 'node:os';
import { dirname } from 'node:path';
import { KmsByokError, asLocalInputError } from '../core/errors.js';
import type { SecretBytes } from '../core/secret.js';
import type { KeySpec } from '../core/aws-names.js';
import { parseMaterial } from '../material/parse.js';
import { parseBundle, serializeBundle, type Bundle } from './ceremony.js';

/** Refuses, before anything is created, a bundle path that exists (or is a link) or whose directory is missing. */
export async function assertBundleCreatable(path: string, flag: string): Promise<void> {
  if (await isSymlink(path)) throw asLocalInputError(unsafePath(path, flag));
  try {
    await access(path, fsConstants.F_OK);
  } catch {
    try {
      await access(dirname(path), fsConstants.W_OK);
      return;
    } catch {
      throw new KmsByokError('ERR_FILE_READ', `cannot write ${flag} ${path}: its directory does not exist or is not writable`, { hint: 'choose another path; nothing was created' });
    }
  }
  throw new KmsByokError('ERR_BUNDLE_EXISTS', `${flag} ${path} already exists`, { hint: 'bundles are never overwritten: choose a new file name; nothing was created' });
}

/** Writes a bundle exclusively (O_EXCL|O_NOFOLLOW), mode 0600, fsynced: never over a file or through a link. */
export async function writeBundleFile(path: string, bundle: Bundle): Promise<void> {
  try {
    await createExclusive(path, serializeBundle(bundle), 'the bundle');
  } catch (e) {
    if (e instanceof KmsByokError) throw e; // ERR_UNSAFE_PATH: a link planted at the path
    const code = (e as { code?: string }).code;
    // Checked creatable before any work (assertBundleCreatable): failing now is an I/O failure (exit 1), not a usage error.
    throw new KmsByokError(code === 'EEXIST' ? 'ERR_BUNDLE_EXISTS' : 'ERR_FILE_WRITE', `cannot create ${path} (${code ?? 'error'})`, {
      hint: code === 'EEXIST' ? 'bundles are never overwritten: choose a new file name' : 'check the directory exists and is writable',
    });
  }
}

/** Reads and strictly parses a bundle (format, version, fingerprint). */
export async function readBundleFile(path: string, flag: string): Promise<Bundle> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new KmsByokError('ERR_FILE_READ', `cannot read ${flag} ${path} (${(e as { code?: string }).code ?? 'error'})`, { hint: 'check the path' });
  }
  return parseBundle(bytes, path);
}

/**
 * Reads a custodian's existing material (raw, hex, base64, or PKCS#8 PEM/DER) and checks it against
 * the key spec. The file's bytes are zeroed once parsed; the material is never copied unsealed.
 */
export async function readMaterialFile(path: string, keySpec: KeySpec): Promise<SecretBytes> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new KmsByokError('ERR_FILE_READ', `cannot read --material-file ${path} (${(e as { code?: string }).code ?? 'error'})`, {
      hint: 'check the path; nothing was created',
    });
  }
  try {
    return parseMaterial(bytes, keySpec);
  } catch (e) {
    throw asLocalInputError(e); // read before any KMS request: exit 2
  } finally {
    bytes.fill(0);
  }
}

/** "user@host", recorded in escrow manifests. */
export function operator(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    /* no passwd entry (containers): keep "unknown" */
  }
  return `${user}@${hostname()}`;
}
