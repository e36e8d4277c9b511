/** Whether any HSM custody flag was given (then `cli/hsm-run.ts` is loaded to act on, or refuse, it). */
import type { Parsed } from './args.js';

export function hsmFlagsGiven(p: Parsed): boolean {
  return ['custody', 'pin', 'pin-file', 'pkcs11-uri', 'pkcs11-module', 'also-escrow'].some((f) => p.values[f] !== undefined);
}
