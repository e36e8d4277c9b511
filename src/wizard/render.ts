/**
 * Text the wizard shows: check values and fingerprints large enough to be read aloud and compared by
 * witnesses, and the equivalent non-interactive command line. Pure.
 */

/** Splits `text` into groups of `size` characters. */
function groups(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

/**
 * A check value (`method:HEX`) boxed, its characters spaced and grouped, with the method label, e.g.
 *
 *     ┌───────────────────┐
 *     │  1 A 2   B 3 C    │  cmac-aes
 *     └───────────────────┘
 */
export function readAloud(checkValue: string, indent = '    '): string {
  const colon = checkValue.indexOf(':');
  const method = colon >= 0 ? checkValue.slice(0, colon) : 'check value';
  const hex = colon >= 0 ? checkValue.slice(colon + 1) : checkValue;
  const size = hex.length <= 8 ? 3 : 4;
  const perLine = hex.length <= 8 ? 4 : 4;
  const lines: string[] = [];
  const gs = groups(hex, size).map((g) => g.split('').join(' '));
  for (let i = 0; i < gs.length; i += perLine) lines.push(gs.slice(i, i + perLine).join('   '));
  const width = Math.max(...lines.map((l) => l.length)) + 4;
  const bar = '─'.repeat(width);
  const body = lines.map((l, i) => `${indent}│  ${l.padEnd(width - 4)}  │${i === 0 ? `  ${method}` : ''}`);
  return [`${indent}┌${bar}┐`, ...body, `${indent}└${bar}┘`].join('\n');
}

/** A SHA-256 hex fingerprint in groups of four, two lines of eight groups, for comparison by eye. */
export function fingerprintLines(sha256: string, indent = '    '): string {
  const gs = groups(sha256.toUpperCase(), 4);
  return [gs.slice(0, 8).join(' '), gs.slice(8).join(' ')].filter(Boolean).map((l) => `${indent}${l}`).join('\n');
}

/** POSIX shell quoting of one word, only when needed. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

/** `kms-byok ARGV…` as one shell line, continued with backslashes every few flags for reading. */
export function commandLine(argv: readonly string[]): string {
  const words = ['kms-byok', ...argv.map(shellQuote)];
  const lines: string[] = [];
  let current = '';
  for (const w of words) {
    if (w.startsWith('--') && current.length > 60) {
      lines.push(current);
      current = `    ${w}`;
    } else current = current ? `${current} ${w}` : w;
  }
  lines.push(current);
  return lines.join(' \\\n');
}
