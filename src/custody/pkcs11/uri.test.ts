import { describe, expect, it } from 'vitest';
import { formatPkcs11Uri, parsePkcs11Uri } from './uri.js';

describe('RFC 7512 pkcs11: URIs', () => {
  it('parses the RFC 7512 section 3 examples', () => {
    expect(parsePkcs11Uri('pkcs11:')).toEqual({});
    expect(parsePkcs11Uri('pkcs11:object=my-pubkey;type=public')).toEqual({ object: 'my-pubkey', type: 'public' });
    expect(parsePkcs11Uri('pkcs11:object=my-key;type=private?pin-source=file:/etc/token')).toEqual({ object: 'my-key', type: 'private', pinSource: 'file:/etc/token' });
    const full = parsePkcs11Uri(
      'pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;model=1.0;object=my-certificate;type=cert;id=%69%95%3E%5C%F4%BE%2D%F9%A8%45%E6%7A%5C%F9%FF%04%B3%08%F8%71;serial=',
    );
    expect(full.token).toBe('The Software PKCS#11 Softtoken');
    expect(full.manufacturer).toBe('Snake Oil, Inc.');
    expect(full.model).toBe('1.0');
    expect(full.serial).toBe('');
    expect(Buffer.from(full.id!).toString('hex')).toBe('69953e5cf4be2df9a845e67a5cf9ff04b308f871');
    expect(parsePkcs11Uri('pkcs11:slot-description=Sun%20Metaslot')).toEqual({ slotDescription: 'Sun Metaslot' });
    expect(parsePkcs11Uri('pkcs11:library-manufacturer=Snake%20Oil,%20Inc.;library-description=Soft%20Token%20Library;library-version=1.23')).toEqual({
      libraryManufacturer: 'Snake Oil, Inc.',
      libraryDescription: 'Soft Token Library',
      libraryVersion: '1.23',
    });
    expect(parsePkcs11Uri('pkcs11:object=my-sign-key;type=private?module-name=mypkcs11').moduleName).toBe('mypkcs11');
    expect(parsePkcs11Uri('pkcs11:object=my-sign-key;type=private?module-path=/mnt/libmypkcs11.so.1').modulePath).toBe('/mnt/libmypkcs11.so.1');
    expect(parsePkcs11Uri('pkcs11:token=Name%20with%20a%20small%20A%20with%20acute:%20%C3%A1').token).toBe('Name with a small A with acute: á');
    // Vendor-specific attributes are ignored.
    expect(parsePkcs11Uri('pkcs11:token=my-token;object=my-certificate;type=cert;vendor-aaa=value-a?pin-source=file:/etc/token_pin&vendor-bbb=value-b')).toEqual({
      token: 'my-token',
      object: 'my-certificate',
      type: 'cert',
      pinSource: 'file:/etc/token_pin',
    });
  });

  it('reads slot-id as a number and keeps id as bytes', () => {
    expect(parsePkcs11Uri('pkcs11:slot-id=2104122805').slotId).toBe(2104122805n);
    expect(Array.from(parsePkcs11Uri('pkcs11:id=%00%ff').id!)).toEqual([0, 255]);
  });

  it('refuses a pin-value, and never echoes the PIN', () => {
    let message = '';
    try {
      parsePkcs11Uri('pkcs11:token=Software%20PKCS%2311%20softtoken;manufacturer=Snake%20Oil,%20Inc.?pin-value=the-pin');
    } catch (e) {
      message = `${(e as Error).message} ${(e as { hint?: string }).hint}`;
      expect((e as { code?: string }).code).toBe('ERR_INVALID_ARGUMENT');
    }
    expect(message).toContain('pin-value');
    expect(message).not.toContain('the-pin');
    expect(message).toContain('--pin-file');
  });

  it('refuses what is not a pkcs11 URI', () => {
    for (const bad of ['token=x', 'pkcs11:token=a;token=b', 'pkcs11:token=%zz', 'pkcs11:slot-id=abc', 'pkcs11:type=key', 'pkcs11:nonsense=1', 'pkcs11:token']) {
      expect(() => parsePkcs11Uri(bad), bad).toThrow(/pkcs11-uri/);
    }
  });

  it('formats a token object URI that parses back', () => {
    const uri = formatPkcs11Uri({ token: 'cere mony', serial: 'abc', object: 'key;1', id: Uint8Array.from([1, 2, 0xfe]) });
    expect(uri).toBe('pkcs11:token=cere%20mony;serial=abc;object=key%3B1;id=%01%02%FE');
    const back = parsePkcs11Uri(uri);
    expect(back.token).toBe('cere mony');
    expect(back.object).toBe('key;1');
    expect(Array.from(back.id!)).toEqual([1, 2, 0xfe]);
  });
});
