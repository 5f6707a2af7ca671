import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Code } from '../errors/code.js';
import { hostOf, isLoopback, loadTls, requireTlsOffLoopback } from './tls.js';

describe('tls', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['localhost', true],
    ['::1', true],
    ['[::1]', true],
    ['0.0.0.0', false],
    ['10.0.0.1', false],
    ['master.example', false],
  ])('isLoopback(%s) = %s', (host, expected) => {
    expect(isLoopback(host)).toBe(expected);
  });

  it.each([
    ['10.0.0.1:5053', '10.0.0.1'],
    ['[::1]:5053', '::1'],
    ['master:5053', 'master'],
    ['master', 'master'],
  ])('hostOf(%s) = %s', (address, host) => {
    expect(hostOf(address)).toBe(host);
  });

  it('loads nothing when no file is given, and names what is missing in a partial set', () => {
    expect(loadTls({})).toBeUndefined();
    expect(() => loadTls({ ca: '/x' })).toThrow(/missing --tls-cert, --tls-key/);
  });

  it('says which file it cannot read', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drover-tls-'));
    fs.writeFileSync(path.join(dir, 'ca.pem'), 'x');
    fs.writeFileSync(path.join(dir, 'cert.pem'), 'x');
    expect(() => loadTls({ ca: path.join(dir, 'ca.pem'), cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'nope.pem') })).toThrow(
      /cannot read --tls-key .*nope\.pem/,
    );
    fs.rmSync(dir, { recursive: true });
  });

  it('refuses plaintext off loopback unless told --insecure', () => {
    expect(() => requireTlsOffLoopback(undefined, '0.0.0.0', false, 'serving on 0.0.0.0:5053')).toThrow(
      expect.objectContaining({ code: Code.InvalidArgument }),
    );
    expect(() => requireTlsOffLoopback(undefined, '0.0.0.0', true, 'x')).not.toThrow();
    expect(() => requireTlsOffLoopback(undefined, '127.0.0.1', false, 'x')).not.toThrow();
  });
});
