/**
 * The journals' one observation point (docs/reliability.md, "Crash tests"): right after a step is
 * durably journalled, {@link journalled} calls the observer found at
 * `globalThis[Symbol.for('kms-byok.journal-step-observer')]`, if there is one.
 *
 * Contract: kms-byok never installs an observer, and nothing in argv or the environment makes it do
 * so. The crash tests preload a module into the spawned CLI (`node --import
 * test/support/crash-after-step.mjs`) that installs one, to kill the process right after a chosen step.
 */
const OBSERVER = Symbol.for('kms-byok.journal-step-observer');

export function journalled(step: string): void {
  const observer = (globalThis as Record<symbol, unknown>)[OBSERVER];
  if (typeof observer === 'function') (observer as (step: string) => void)(step);
}
