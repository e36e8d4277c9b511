/**
 * The PKCS#11 binding (`pkcs11js`, an optional dependency with a native addon), loaded only when a
 * command uses PKCS#11 (docs/hsm.md, "Installing the binding"). This is the only file that imports it.
 * `pkcs11js` is built on Node-API, so one build loads on every Node major the project supports.
 */
import { KmsByokError } from '../../core/errors.js';

export type Pkcs11Binding = typeof import('pkcs11js');

let loaded: Pkcs11Binding | undefined;

/** The binding, or ERR_PKCS11_BINDING (exit 2) with the install hint when it is missing or not built. */
export async function loadPkcs11Binding(): Promise<Pkcs11Binding> {
  if (loaded) return loaded;
  try {
    const mod = (await import('pkcs11js')) as Pkcs11Binding & { default?: Pkcs11Binding };
    loaded = (mod.default ?? mod) as Pkcs11Binding;
    return loaded;
  } catch (e) {
    throw new KmsByokError('ERR_PKCS11_BINDING', `the PKCS#11 binding (pkcs11js) cannot be loaded: ${(e as Error).message.split('\n')[0]}`, {
      hint: 'install it with a C++ toolchain present: npm install pkcs11js (it builds a native addon; an install with --ignore-scripts skips that build — run npm rebuild pkcs11js). See docs/hsm.md',
      cause: e,
    });
  }
}
