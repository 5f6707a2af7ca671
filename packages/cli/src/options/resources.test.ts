import { Code, DroverError } from '@drover/common';
import { describe, expect, it } from 'vitest';
import { parseResources } from './resources.js';

describe('parseResources', () => {
  it.each([
    {
      name: 'every scalar',
      text: 'cpus=2,mem=1024,disk=4096,gpus=1',
      want: { cpus: 2, mem: 1024, disk: 4096, gpus: 1 },
    },
    { name: 'a fractional cpu count', text: 'cpus=0.5', want: { cpus: 0.5 } },
    { name: 'one port range without brackets', text: 'ports=31000-32000', want: { ports: [{ begin: 31000, end: 32000 }] } },
    {
      name: 'several port ranges in brackets',
      text: 'cpus=2,ports=[31000-31999,33000-33100],mem=512',
      want: { cpus: 2, mem: 512, ports: [{ begin: 31000, end: 31999 }, { begin: 33000, end: 33100 }] },
    },
    { name: 'a single port in brackets', text: 'ports=[8080]', want: { ports: [{ begin: 8080, end: 8080 }] } },
    { name: 'spaces around pairs', text: ' cpus = 2 , mem=64 ', want: { cpus: 2, mem: 64 } },
    { name: 'nothing', text: '', want: {} },
  ])('parses $name', ({ text, want }) => {
    expect(parseResources(text)).toEqual(want);
  });

  it.each([
    { name: 'an unknown key', text: 'cpu=2', message: 'unknown resource "cpu": expected one of cpus, mem, disk, gpus, ports' },
    { name: 'a missing value', text: 'cpus', message: '"cpus" has no value: expected key=value' },
    {
      name: 'several ranges without brackets',
      text: 'ports=31000-31999,33000',
      message: '"33000" has no value: to give several port ranges write ports=[A-B,C-D]',
    },
    { name: 'a non-number', text: 'mem=lots', message: 'mem=lots: expected a number, 0 or more' },
    { name: 'a negative number', text: 'cpus=-1', message: 'cpus=-1: expected a number, 0 or more' },
    { name: 'fractional gpus', text: 'gpus=0.5', message: 'gpus=0.5: expected a whole number' },
    { name: 'a repeated key', text: 'cpus=1,cpus=2', message: '"cpus" is given twice' },
    { name: 'an unclosed bracket', text: 'ports=[31000-31999,33000', message: 'ports=[31000-31999,33000: unbalanced brackets, expected ports=[A-B,C-D]' },
    {
      name: 'a reversed range',
      text: 'ports=[32000-31000]',
      message: 'ports: bad port range "32000-31000": expected N or N-M with 1 <= N <= M <= 65535',
    },
    { name: 'empty ports', text: 'ports=[]', message: 'ports is empty: expected ports=[A-B,C-D] or ports=A-B' },
  ])('rejects $name', ({ text, message }) => {
    let caught: unknown;
    try {
      parseResources(text);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(DroverError);
    expect((caught as DroverError).code).toBe(Code.InvalidArgument);
    expect((caught as DroverError).rawMessage).toBe(`bad resources: ${message}`);
  });
});
