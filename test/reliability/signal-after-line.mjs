// Preloaded with `node --import` by signals.test.ts into the built CLI: the first time the process
// writes a stderr line matching the regular expression in KMS_BYOK_TEST_SIGNAL_AFTER, it sends itself
// KMS_BYOK_TEST_SIGNAL (default SIGINT) right after the write — the point where the step that line
// reports is done, exactly as a user's Ctrl-C right after seeing the line. The process goes on and
// handles the signal as it would a real one. Test code only: kms-byok itself never reads these variables.
const pattern = process.env.KMS_BYOK_TEST_SIGNAL_AFTER;
const signal = process.env.KMS_BYOK_TEST_SIGNAL ?? 'SIGINT';
if (pattern) {
  const re = new RegExp(pattern, 'm');
  const write = process.stderr.write.bind(process.stderr);
  let sent = false;
  process.stderr.write = (chunk, ...rest) => {
    const written = write(chunk, ...rest);
    if (!sent && re.test(String(chunk))) {
      sent = true;
      process.kill(process.pid, signal);
    }
    return written;
  };
}
