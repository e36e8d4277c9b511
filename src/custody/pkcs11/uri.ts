/**
 * RFC 7512 `pkcs11:` URIs (docs/hsm.md, "Choosing the token and the key"). Pure: parses the text into
 * the attributes kms-byok matches on; refuses what it must not accept.
 *
 * Contract:
 * - Path attributes (`;`-separated) and query attributes (`&`-separated, after `?`) are
 *   percent-decoded; `id` is kept as bytes (it is a CKA_ID, not text), every other value as UTF-8.
 * - An attribute given twice, an unknown attribute without a vendor prefix (`x-`… or a name with a
 *   `-` that RFC 7512 does not define), a bad percent escape, or a non-numeric `slot-id` is
 *   ERR_INVALID_ARGUMENT.
 * - `pin-value` is refused (a PIN in a URI ends up in argv, shell history and process listings):
 *   the PIN comes from `--pin-file` or the terminal. `pin-source`, `module-name` and `module-path`
 *   are parsed and reported but kms-byok takes the module from `--pkcs11-module` only.
 */
import { KmsByokError } from '../../core/errors.js';

export interface Pkcs11Uri {
  token?: string;
  manufacturer?: string;
  serial?: string;
  model?: string;
  object?: string;
  /** CKA_ID bytes. */
  id?: Uint8Array;
  /** CKO_* type name as RFC 7512 spells it (cert, data, private, public, secret-key). */
  type?: string;
  slotId?: bigint;
  slotDescription?: string;
  slotManufacturer?: string;
  libraryManufacturer?: string;
  libraryDescription?: string;
  libraryVersion?: string;
  /** Query attributes kms-byok does not act on but reports. */
  pinSource?: string;
  moduleName?: string;
  modulePath?: string;
}

const PATH_ATTRS = new Set([
  'token', 'manufacturer', 'serial', 'model', 'library-manufacturer', 'library-description', 'library-version',
  'object', 'type', 'id', 'slot-description', 'slot-manufacturer', 'slot-id',
]);
const QUERY_ATTRS = new Set(['pin-source', 'pin-value', 'module-name', 'module-path']);
const TYPES = new Set(['public', 'private', 'cert', 'secret-key', 'data']);

function bad(uri: string, why: string): KmsByokError {
  return new KmsByokError('ERR_INVALID_ARGUMENT', `--pkcs11-uri ${JSON.stringify(redactPin(uri))}: ${why}`, {
    hint: "an RFC 7512 URI such as 'pkcs11:token=my-token' (quote it for the shell; %20 for a space)",
  });
}

/** The URI with any `pin-value` replaced, for messages. */
function redactPin(uri: string): string {
  return uri.replace(/(pin-value=)[^&;]*/gi, '$1…');
}

/** Percent-decodes to bytes; refuses a `%` not followed by two hex digits. */
function decodeBytes(uri: string, raw: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '%') {
      const hex = raw.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw bad(uri, `bad percent escape at "${raw.slice(i, i + 3)}"`);
      out.push(parseInt(hex, 16));
      i += 2;
    } else {
      out.push(...Buffer.from(c, 'utf8'));
    }
  }
  return Uint8Array.from(out);
}

function decodeText(uri: string, raw: string): string {
  const bytes = decodeBytes(uri, raw);
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  return text;
}

function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

export function parsePkcs11Uri(uri: string): Pkcs11Uri {
  if (!/^pkcs11:/i.test(uri)) throw bad(uri, 'does not start with "pkcs11:"');
  const rest = uri.slice('pkcs11:'.length);
  const q = rest.indexOf('?');
  const path = q < 0 ? rest : rest.slice(0, q);
  const query = q < 0 ? '' : rest.slice(q + 1);
  const out: Record<string, unknown> = {};
  const seen = new Set<string>();
  const take = (part: string, known: Set<string>) => {
    if (part === '') return;
    const eq = part.indexOf('=');
    if (eq <= 0) throw bad(uri, `"${part}" is not name=value`);
    const name = part.slice(0, eq).toLowerCase();
    const raw = part.slice(eq + 1);
    if (seen.has(name)) throw bad(uri, `${name} is given twice`);
    seen.add(name);
    if (name === 'pin-value') {
      throw new KmsByokError('ERR_INVALID_ARGUMENT', '--pkcs11-uri carries a pin-value: a PIN is never taken from the command line', {
        hint: 'remove ?pin-value=… from the URI and give the PIN in a 0600 file with --pin-file FILE (or at the prompt)',
      });
    }
    if (!known.has(name)) {
      // RFC 7512 §2.3: vendor-specific attributes carry a vendor prefix and a hyphen; they are ignored.
      if (name.includes('-') && !PATH_ATTRS.has(name) && !QUERY_ATTRS.has(name)) return;
      throw bad(uri, `unknown attribute "${name}"${PATH_ATTRS.has(name) || QUERY_ATTRS.has(name) ? ' in this part of the URI' : ''}`);
    }
    if (name === 'id') {
      out.id = decodeBytes(uri, raw);
      return;
    }
    const value = decodeText(uri, raw);
    if (name === 'slot-id') {
      if (!/^[0-9]+$/.test(value)) throw bad(uri, `slot-id "${value}" is not a decimal number`);
      out.slotId = BigInt(value);
      return;
    }
    if (name === 'type' && !TYPES.has(value)) throw bad(uri, `type "${value}" is not one of ${[...TYPES].join(', ')}`);
    out[camel(name)] = value;
  };
  for (const part of path.split(';')) take(part, PATH_ATTRS);
  for (const part of query.split('&')) take(part, QUERY_ATTRS);
  return out as Pkcs11Uri;
}

/** The URI of a token object, as kms-byok records and prints it (RFC 7512 percent-encoding). */
export function formatPkcs11Uri(a: { token?: string; serial?: string; object?: string; id?: Uint8Array }): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const parts: string[] = [];
  if (a.token !== undefined) parts.push(`token=${enc(a.token)}`);
  if (a.serial !== undefined) parts.push(`serial=${enc(a.serial)}`);
  if (a.object !== undefined) parts.push(`object=${enc(a.object)}`);
  if (a.id !== undefined) parts.push(`id=${[...a.id].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join('')}`);
  return `pkcs11:${parts.join(';')}`;
}
