// Preloaded with `node --import` by crash.test.ts into the built CLI, for commands that do not
// journal (the steps of the air-gapped import): when the process writes a stderr line matching the
// regular expression in KMS_BYOK_TEST_KILL_AFTER, it SIGKILLs itself right after the write — the point
// where the step that line reports is done, as test/support/crash-after-step.mjs does for journal steps.
// Test code only: kms-byok itself never reads this variable. (stderr to a pipe is written
// synchronously on Linux, so the line reaches the test before the process dies.)
const pattern = process.env.KMS_BYOK_TEST_KILL_AFTER;
if (pattern) {
  const re = new RegExp(pattern);
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = (chunk, ...rest) => {
    const written = write(chunk, ...rest);
    if (re.test(String(chunk))) process.kill(process.pid, 'SIGKILL');
    return written;
  };
}
