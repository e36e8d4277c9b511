/** parseMaterial's byte-level hex and base64 decoders against Node's Buffer codecs, for random key material. */
import { fc, it } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { parseMaterial } from '../../src/material/parse.js';
import { numRuns } from './helpers.js';

const specs = [
  ['SYMMETRIC_DEFAULT', 32, 32],
  ['HMAC_224', 28, 64],
  ['HMAC_256', 32, 64],
  ['HMAC_384', 48, 128],
  ['HMAC_512', 64, 128],
] as const;

const material = fc
  .constantFrom(...specs)
  .chain(([spec, min, max]) => fc.record({ spec: fc.constant(spec), bytes: fc.uint8Array({ minLength: min, maxLength: max }) }));

describe('parseMaterial properties', () => {
  it.prop([material, fc.constantFrom('hex', 'HEX', 'base64', 'base64-unpadded'), fc.constantFrom('', '\n', '\r\n', '  \n')], {
    numRuns: numRuns(200, 2000),
  })('hex and base64 text (as Buffer writes it) decode to the same bytes', ({ spec, bytes }, encoding, trailer) => {
    const b = Buffer.from(bytes);
    const text =
      encoding === 'hex' ? b.toString('hex') : encoding === 'HEX' ? b.toString('hex').toUpperCase() : encoding === 'base64' ? b.toString('base64') : b.toString('base64').replace(/=+$/, '');
    // Base64 text made only of hex digits would be read as hex; skip those (vanishingly rare) draws.
    fc.pre(!(encoding.startsWith('base64') && /^[0-9a-fA-F]+$/.test(text)));
    const parsed = parseMaterial(new Uint8Array(Buffer.from(text + trailer, 'latin1')), spec);
    expect(parsed.use((x) => Buffer.from(x))).toEqual(b);
  });

  it.prop([material], { numRuns: numRuns(100, 1000) })('raw bytes that are not all printable are taken as they are', ({ spec, bytes }) => {
    const raw = Uint8Array.from(bytes);
    raw[raw.length - 1] = 0xff; // certainly not text
    expect(parseMaterial(raw, spec).use((x) => Buffer.from(x))).toEqual(Buffer.from(raw));
  });
});
