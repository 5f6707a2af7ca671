import { describe, expect, it } from 'vitest';
import { parseEtcdEndpoints, parseEtcdPrefix } from './etcd-endpoints.js';

describe('parseEtcdEndpoints', () => {
  it.each([
    { text: 'http://127.0.0.1:2379', want: ['http://127.0.0.1:2379'] },
    { text: 'http://h1:2379, http://h2:2379,https://h3:2379/', want: ['http://h1:2379', 'http://h2:2379', 'https://h3:2379'] },
    { text: 'http://[::1]:2379', want: ['http://[::1]:2379'] },
  ])('reads $text', ({ text, want }) => expect(parseEtcdEndpoints(text)).toEqual(want));

  it.each([
    { text: '', error: /no etcd endpoint/ },
    { text: 'h1:2379', error: /bad etcd endpoint "h1:2379": expected http\(s\):\/\/host:port/ },
    { text: 'http://h1', error: /bad etcd endpoint "http:\/\/h1"/ },
    { text: 'http://h1:2379/v3', error: /bad etcd endpoint/ },
    { text: 'http://h1:2379,nonsense', error: /bad etcd endpoint "nonsense"/ },
  ])('refuses "$text"', ({ text, error }) => expect(() => parseEtcdEndpoints(text)).toThrow(error));
});

describe('parseEtcdPrefix', () => {
  it('takes absolute paths', () => expect(parseEtcdPrefix('/prod/drover')).toBe('/prod/drover'));
  it.each(['drover', '/drover/', '/', '//x', '/a b'])('refuses %s', (text) => expect(() => parseEtcdPrefix(text)).toThrow(/bad etcd prefix/));
});
