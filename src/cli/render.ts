/** Human and JSON renderers of one result object (docs/architecture.md): stdout carries only the result. */
import type { Io } from './io.js';

/** Prints `value` as one JSON document (camelCase keys, ISO-8601 times, base64 bytes). */
export function printJson(io: Io, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, (_k, v: unknown) => (v instanceof Date ? v.toISOString() : v), 2)}\n`);
}

/** Prints aligned `label  value` rows, skipping undefined values. */
export function printRows(io: Io, rows: [string, string | undefined][]): void {
  const shown = rows.filter((r): r is [string, string] => r[1] !== undefined);
  const width = Math.max(...shown.map(([k]) => k.length));
  for (const [k, v] of shown) io.stdout.write(`${k.padEnd(width)}  ${v}\n`);
}
