/**
 * Opening a PKCS#11 module, finding the token a `pkcs11:` URI names, and logging in
 * (docs/hsm.md, "Tokens, PINs and errors"). Every failure is a stable ERR_PKCS11_* code; none is retried.
 *
 * Contract:
 * - The PIN is borrowed bytes (from `--pin-file` or the terminal); it is handed to `C_Login` once and
 *   never stored. A wrong PIN is ERR_PKCS11_PIN_INCORRECT naming the token's lockout flags as the token
 *   reports them after the failure; a locked PIN is ERR_PKCS11_PIN_LOCKED. No second attempt is made.
 * - `close()` logs out, closes the session and finalizes the module; it never throws.
 */
import { KmsByokError } from '../../core/errors.js';
import type { SecretBytes } from '../../core/secret.js';
import { loadPkcs11Binding, type Pkcs11Binding } from './binding.js';
import type { Pkcs11Uri } from './uri.js';

type PKCS11 = InstanceType<Pkcs11Binding['PKCS11']>;
type Handle = Buffer;

export interface TokenIdentity {
  label: string;
  serial: string;
  manufacturer: string;
  model: string;
}

export interface OpenToken {
  pk: Pkcs11Binding;
  p: PKCS11;
  slot: Handle;
  session: Handle;
  token: TokenIdentity;
  close(): void;
}

/** The PKCS#11 return value's name (CKR_*) of an error thrown by the binding, if it is one. */
export function ckrName(e: unknown): string | undefined {
  const m = /^(CKR_[A-Z_]+)/.exec((e as Error | undefined)?.message ?? '');
  return m?.[1];
}

const trim = (s: string) => s.replace(/[\s\0]+$/, '');

function lockoutFlags(pk: Pkcs11Binding, flags: number): string[] {
  const out: string[] = [];
  if (flags & pk.CKF_USER_PIN_COUNT_LOW) out.push('CKF_USER_PIN_COUNT_LOW (an incorrect PIN was entered at least once since the last successful login)');
  if (flags & pk.CKF_USER_PIN_FINAL_TRY) out.push('CKF_USER_PIN_FINAL_TRY (one more wrong PIN locks the token)');
  if (flags & pk.CKF_USER_PIN_LOCKED) out.push('CKF_USER_PIN_LOCKED (the user PIN is locked)');
  return out;
}

function matches(uri: Pkcs11Uri, t: TokenIdentity): boolean {
  return (uri.token === undefined || uri.token === t.label)
    && (uri.serial === undefined || uri.serial === t.serial)
    && (uri.manufacturer === undefined || uri.manufacturer === t.manufacturer)
    && (uri.model === undefined || uri.model === t.model);
}

function describeUri(uri: Pkcs11Uri): string {
  const parts = [
    uri.token !== undefined ? `token=${uri.token}` : '',
    uri.serial !== undefined ? `serial=${uri.serial}` : '',
    uri.manufacturer !== undefined ? `manufacturer=${uri.manufacturer}` : '',
    uri.model !== undefined ? `model=${uri.model}` : '',
    uri.slotId !== undefined ? `slot-id=${uri.slotId}` : '',
  ].filter(Boolean);
  return parts.length ? parts.join(';') : '(any token)';
}

/**
 * Loads `modulePath`, finds the one token `uri` selects and opens a read-write session, logged in
 * as the user with `pin`.
 */
export async function openToken(modulePath: string, uri: Pkcs11Uri, pin: SecretBytes): Promise<OpenToken> {
  const pk = await loadPkcs11Binding();
  const p = new pk.PKCS11();
  try {
    p.load(modulePath);
  } catch (e) {
    throw new KmsByokError('ERR_PKCS11_MODULE', `${modulePath} is not a loadable PKCS#11 module: ${(e as Error).message.split('\n')[0]}`, {
      hint: 'pass --pkcs11-module PATH (or set KMS_BYOK_PKCS11_MODULE) to the vendor\'s PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so',
    });
  }
  let initialized = false;
  let session: Handle | undefined;
  let loggedIn = false;
  const close = () => {
    try { if (session && loggedIn) p.C_Logout(session); } catch { /* closing anyway */ }
    try { if (session) p.C_CloseSession(session); } catch { /* closing anyway */ }
    try { if (initialized) p.C_Finalize(); } catch { /* closing anyway */ }
    try { p.close(); } catch { /* closing anyway */ }
  };
  try {
    try {
      p.C_Initialize();
      initialized = true;
    } catch (e) {
      throw new KmsByokError('ERR_PKCS11_MODULE', `${modulePath} did not initialise as a PKCS#11 module (${ckrName(e) ?? (e as Error).message})`, {
        hint: 'check the module path and its configuration (SoftHSM: SOFTHSM2_CONF and its token directory)',
      });
    }
    const candidates: { slot: Handle; token: TokenIdentity }[] = [];
    for (const slot of p.C_GetSlotList(true)) {
      const info = p.C_GetTokenInfo(slot);
      if (!(info.flags & pk.CKF_TOKEN_INITIALIZED)) continue;
      const token = { label: trim(info.label), serial: trim(info.serialNumber), manufacturer: trim(info.manufacturerID), model: trim(info.model) };
      if (uri.slotId !== undefined && slot.readBigUInt64LE(0) !== uri.slotId) continue;
      if (matches(uri, token)) candidates.push({ slot, token });
    }
    if (candidates.length === 0) {
      throw new KmsByokError('ERR_PKCS11_TOKEN_NOT_PRESENT', `no initialised token matching ${describeUri(uri)} is present in ${modulePath}`, {
        hint: 'check --pkcs11-uri (token=LABEL or serial=…); list tokens with: pkcs11-tool --module MODULE --list-tokens',
      });
    }
    if (candidates.length > 1) {
      throw new KmsByokError('ERR_PKCS11_TOKEN_NOT_PRESENT', `${candidates.length} tokens match ${describeUri(uri)}: ${candidates.map((c) => `${c.token.label} (serial ${c.token.serial})`).join(', ')}`, {
        hint: 'name one token in --pkcs11-uri with token=LABEL;serial=SERIAL',
      });
    }
    const { slot, token } = candidates[0]!;
    session = p.C_OpenSession(slot, pk.CKF_SERIAL_SESSION | pk.CKF_RW_SESSION);
    try {
      // The binding takes the PIN as a string (its C_Login API); it lives only for this call.
      pin.use((bytes) => p.C_Login(session!, pk.CKU_USER, Buffer.from(bytes).toString('utf8')));
      loggedIn = true;
    } catch (e) {
      const name = ckrName(e);
      const flags = lockoutFlags(pk, p.C_GetTokenInfo(slot).flags);
      if (name === 'CKR_PIN_INCORRECT') {
        throw new KmsByokError('ERR_PKCS11_PIN_INCORRECT', `token ${token.label} (serial ${token.serial}) refused the PIN: CKR_PIN_INCORRECT; lockout flags now: ${flags.length ? flags.join(', ') : 'none reported'}`, {
          hint: 'not retried: check the --pin-file (or what you typed) before another attempt; the token counts wrong PINs and locks',
        });
      }
      if (name === 'CKR_PIN_LOCKED') {
        throw new KmsByokError('ERR_PKCS11_PIN_LOCKED', `the user PIN of token ${token.label} (serial ${token.serial}) is locked: CKR_PIN_LOCKED`, {
          hint: 'the security officer must unlock it (e.g. softhsm2-util or the vendor tool); kms-byok did not try again',
        });
      }
      if (name === 'CKR_USER_ALREADY_LOGGED_IN') {
        loggedIn = true;
      } else {
        throw new KmsByokError('ERR_PKCS11', `login to token ${token.label} failed: ${name ?? (e as Error).message}`, { hint: 'check the token with the vendor tool' });
      }
    }
    return { pk, p, slot, session, token, close };
  } catch (e) {
    close();
    throw e;
  }
}
