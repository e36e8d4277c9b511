import { describe, expect, it } from 'vitest';
import { isLoopbackUrl } from './endpoints.js';

describe('isLoopbackUrl', () => {
  it('accepts localhost, 127.0.0.0/8 and ::1, with any port', () => {
    for (const url of ['http://localhost:4566', 'http://LOCALHOST', 'http://127.0.0.1:4566', 'http://127.255.0.9/', 'http://127.1:80', 'http://[::1]:4566', 'https://[0:0:0:0:0:0:0:1]/']) {
      expect(isLoopbackUrl(url), url).toBe(true);
    }
  });

  it('refuses every other host, look-alikes included, and what is not a URL', () => {
    for (const url of ['https://kms.eu-west-1.amazonaws.com', 'http://127.0.0.1.evil.example', 'http://localhost.evil.example', 'http://10.0.0.1', 'http://[::2]', 'http://128.0.0.1', 'not a url', '']) {
      expect(isLoopbackUrl(url), url).toBe(false);
    }
  });
});
