// Runs the built CLI in this process (as dist/bin.js does) and, when it ends, writes this process's
// peak RSS (process.resourceUsage().maxRSS, KiB) to the file named by KMS_BYOK_BENCH_RSS_FILE.
import { writeFileSync } from 'node:fs';
import { main } from '../../dist/cli/main.js';
import { systemIo } from '../../dist/cli/io.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const code = await main(process.argv.slice(2), systemIo());
if (process.env.KMS_BYOK_BENCH_RSS_FILE) writeFileSync(process.env.KMS_BYOK_BENCH_RSS_FILE, String(process.resourceUsage().maxRSS));
process.exitCode = code;
