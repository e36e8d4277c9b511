/**
 * Loopback endpoints: the one definition the product uses (target selection and fleets) of "this
 * endpoint is on this machine", which decides whether dummy credentials may be used (docs/architecture.md,
 * "Target selection"). Loopback is `localhost`, any address in 127.0.0.0/8, and `::1`.
 * The emulator keeps its own check of the `Host` header (it imports nothing of the product).
 */

const IPV4_LOOPBACK = /^127\.(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){2}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** Whether a host name or address (as `URL.hostname` gives it; IPv6 with or without brackets) is loopback. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase();
  return h === 'localhost' || h === '[::1]' || h === '::1' || IPV4_LOOPBACK.test(h);
}

/** Whether `url` parses and names a loopback host. */
export function isLoopbackUrl(url: string): boolean {
  try {
    return isLoopbackHost(new URL(url).hostname);
  } catch {
    return false;
  }
}
