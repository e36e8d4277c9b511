/**
 * Each command's declaration, loaded on its own: `kms-byok CMD --help` and `kms-byok help CMD` load the
 * one they print, not the whole table (index.ts), which in the bundle is one chunk per command's
 * declaration (docs/architecture.md, "The build"). A test checks this table against index.ts's.
 */
import { resolveIn, type Declared } from '../command-spec.js';

export const DECLARATION_LOADERS: Readonly<Record<string, () => Promise<Declared>>> = {
  onboard: async () => (await import('./onboard.js')).ONBOARD,
  escrow: async () => (await import('./escrow.js')).ESCROW,
  emulator: async () => (await import('./emulator.js')).EMULATOR,
  wizard: async () => (await import('./wizard.js')).WIZARD,
  wrap: async () => (await import('./wrap.js')).WRAP,
  'import': async () => (await import('./import.js')).IMPORT,
  status: async () => (await import('./status.js')).STATUS,
  discover: async () => (await import('./discover.js')).DISCOVER,
  verify: async () => (await import('./verify.js')).VERIFY,
  reimport: async () => (await import('./reimport.js')).REIMPORT,
  restore: async () => (await import('./restore.js')).RESTORE,
  rotate: async () => (await import('./rotate.js')).ROTATE,
  revoke: async () => (await import('./revoke.js')).REVOKE,
  retire: async () => (await import('./retire.js')).RETIRE,
  audit: async () => (await import('./audit.js')).AUDIT,
  alarms: async () => (await import('./alarms.js')).ALARMS,
  fleet: async () => (await import('./fleet.js')).FLEET_COMMANDS,
  transcript: async () => (await import('./transcript.js')).TRANSCRIPT,
  policy: async () => (await import('./policy.js')).POLICY,
  schedule: async () => (await import('./schedule.js')).SCHEDULE,
};

/** `resolveDeclared` (index.ts) with only the named command's declaration loaded. */
export async function resolveDeclaredLazily(argv: readonly string[]): Promise<{ declared: Declared; rest: string[] } | undefined> {
  const load = argv[0] === undefined ? undefined : Object.hasOwn(DECLARATION_LOADERS, argv[0]) ? DECLARATION_LOADERS[argv[0]] : undefined;
  return resolveIn(load ? await load() : undefined, argv);
}
