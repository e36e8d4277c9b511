// Preloaded into a spawned CLI by the PKCS#11 tests (`node --import <this file> dist/bin.cjs …`): installs
// the key-template hook of src/custody/pkcs11/custody.ts so keys the product generates in the token are
// non-sensitive, and the TEST (never the product) can read CKA_VALUE to compare bytes. Test code only:
// kms-byok never installs the hook, and nothing in argv or the environment makes it do so.
globalThis[Symbol.for('kms-byok.pkcs11-key-template')] = (template, pk) =>
  template.map((a) => (a.type === pk.CKA_SENSITIVE ? { type: a.type, value: false } : a));
