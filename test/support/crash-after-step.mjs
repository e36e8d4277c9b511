// Preloaded into a spawned CLI by the crash tests (`node --import <this file> dist/bin.cjs …`): installs
// the journal-step observer of src/records/journal-observer.ts, which SIGKILLs the process right after
// the step named by TEST_CRASH_AFTER_STEP is durably journalled. Test code only: the product never
// reads that variable.
const step = process.env.TEST_CRASH_AFTER_STEP;
if (step) {
  globalThis[Symbol.for('kms-byok.journal-step-observer')] = (done) => {
    if (done === step) process.kill(process.pid, 'SIGKILL');
  };
}
