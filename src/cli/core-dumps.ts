/**
 * A ceremony's process holds key material: keep it out of core dumps where the platform allows
 * (docs/architecture.md, "Core dumps"). Node has no setrlimit (RLIMIT_CORE) and no
 * prctl(PR_SET_DUMPABLE); on Linux, writing 0 to /proc/self/coredump_filter leaves every memory
 * mapping out of a dump of this process (and of the children it forks). Best effort: elsewhere, or
 * without /proc, nothing changes — which is why the schedules kms-byok prints also set
 * `LimitCORE=0` (systemd) and `ulimit -c 0` (cron).
 */
import { writeFileSync } from 'node:fs';

/** Called once at process start by `bin.ts`; never throws. Returns whether the filter was written. */
export function disableCoreDumps(platform: NodeJS.Platform = process.platform, path = '/proc/self/coredump_filter'): boolean {
  if (platform !== 'linux') return false;
  try {
    writeFileSync(path, '0');
    return true;
  } catch {
    return false; // no /proc, or a kernel without coredump_filter: nothing better is available from Node
  }
}
