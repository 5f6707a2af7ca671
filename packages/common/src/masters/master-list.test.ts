import { describe, expect, it } from 'vitest';
import { Code } from '../errors/code.js';
import { DroverError } from '../errors/drover-error.js';
import { parseMasterList } from './master-list.js';

describe('parseMasterList', () => {
  it.each([
    { name: 'one address', input: '10.0.0.1:5053', out: ['10.0.0.1:5053'] },
    { name: 'hosts without ports get 5053', input: 'h1,h2,h3', out: ['h1:5053', 'h2:5053', 'h3:5053'] },
    { name: 'spaces and a trailing comma', input: ' h1:6000 , h2 ,', out: ['h1:6000', 'h2:5053'] },
    { name: 'an array of lists', input: ['h1', 'h2:7000,h3'], out: ['h1:5053', 'h2:7000', 'h3:5053'] },
    { name: 'duplicates once', input: 'h1,h1:5053', out: ['h1:5053'] },
    { name: 'IPv6 with and without port', input: '[::1]:6000,[fd00::1],fd00::2', out: ['[::1]:6000', '[fd00::1]:5053', '[fd00::2]:5053'] },
  ])('$name', ({ input, out }) => {
    expect(parseMasterList(input)).toEqual(out);
  });

  it.each([
    { name: 'nothing', input: ' , ', message: 'no master address given' },
    { name: 'a port out of range and a stray character', input: 'h1:70000,h 2,h3', message: 'bad master address: "h1:70000" is not host, host:port or [ipv6]:port; "h 2" is not host, host:port or [ipv6]:port' },
    { name: 'a URL', input: 'http://h1:5053', message: 'bad master address: "http://h1:5053" is not host, host:port or [ipv6]:port' },
  ])('refuses $name with every problem', ({ input, message }) => {
    let error: unknown;
    try {
      parseMasterList(input);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DroverError);
    expect(error).toMatchObject({ code: Code.InvalidArgument, rawMessage: message });
  });
});
