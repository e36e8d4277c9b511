/**
 * The PKCS#11 custody room's public face (docs/hsm.md): the URI parser, opening a token, and the
 * `TokenCustody` over it. Only `cli/hsm-run.ts` imports this, and only when `--custody pkcs11` is used.
 */
export { parsePkcs11Uri, formatPkcs11Uri, type Pkcs11Uri } from './uri.js';
export { openToken, type OpenToken, type TokenIdentity } from './token.js';
export { Pkcs11Custody } from './custody.js';
export { loadPkcs11Binding } from './binding.js';
