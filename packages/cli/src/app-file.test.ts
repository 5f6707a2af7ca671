import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Code, DroverError, ValidationError } from '@drover/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppFileSyntaxError, parseAppDocument, parseAppFileText, readAppFile } from './app-file.js';

const repoRoot = path.resolve(import.meta.dirname, '../../..');

describe('parseAppDocument', () => {
  it.each([
    { name: 'JSON by extension', file: 'web.json', text: '{"id": "/web", "cmd": "x", "mem": 64}' },
    { name: 'YAML by extension', file: 'web.yaml', text: 'id: /web\ncmd: x\nmem: 64\n' },
    { name: 'YAML with .yml', file: 'web.YML', text: 'id: /web\ncmd: x\nmem: 64\n' },
    { name: 'JSON without an extension', file: 'web', text: '{"id": "/web", "cmd": "x", "mem": 64}' },
    { name: 'YAML without a known extension', file: 'web.app', text: 'id: /web\ncmd: x\nmem: 64\n' },
  ])('reads $name', ({ file, text }) => {
    expect(parseAppDocument(text, file)).toEqual({ id: '/web', cmd: 'x', mem: 64 });
  });

  it.each([
    {
      name: 'invalid JSON in a .json file',
      file: 'web.json',
      text: '{"id": "/web",}',
      format: 'JSON',
      message: /^web\.json is not valid JSON: /,
    },
    {
      name: 'invalid YAML, with line and column',
      file: 'web.yaml',
      text: 'id: /web\ncmd: [node, x\n',
      format: 'YAML',
      message: /^web\.yaml is not valid YAML: line \d+, column \d+: /,
    },
    {
      name: 'a duplicated YAML key',
      file: 'web.yaml',
      text: 'id: /web\nid: /api\n',
      format: 'YAML',
      message: /^web\.yaml is not valid YAML: line 2, column 1: Map keys must be unique$/,
    },
    {
      name: 'several YAML documents',
      file: 'apps.yml',
      text: 'id: /a\n---\nid: /b\n',
      format: 'YAML',
      message: /^apps\.yml is not valid YAML: line 2, column 1: it holds more than one document; put one app per file$/,
    },
    {
      name: 'neither JSON nor YAML without an extension (reported as YAML)',
      file: 'web',
      text: 'id: [unclosed\n',
      format: 'YAML',
      message: /^web is not valid YAML: /,
    },
  ])('rejects $name', ({ file, text, format, message }) => {
    let caught: unknown;
    try {
      parseAppDocument(text, file);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(AppFileSyntaxError);
    const err = caught as AppFileSyntaxError;
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.format).toBe(format);
    expect(err.file).toBe(file);
    expect(err.rawMessage).toMatch(message);
  });
});

describe('parseAppFileText', () => {
  it('returns the normalized spec with defaults, leaving an absent instance count to the master', () => {
    const spec = parseAppFileText('id: web\ncmd: sleep 100\n', 'web.yaml');
    expect(spec).toMatchObject({ id: '/web', cmd: 'sleep 100', cpus: 1, mem: 128 });
    // The master keeps the app's current count (1 for a new app): a redeploy after a scale keeps the scale.
    expect(spec.instances).toBeUndefined();
    expect(spec.portDefinitions).toHaveLength(1);
    expect(parseAppFileText('id: web\ncmd: sleep 100\ninstances: 0\n', 'web.yaml').instances).toBe(0);
  });

  it('reports every problem with its field path and names the file', () => {
    const text = ['id: /web', 'cpus: 0', 'instances: -1', 'portDefinitions:', '  - port: 70000', 'env:', '  PORT: 8080', 'bogus: 1'].join('\n');
    let caught: unknown;
    try {
      parseAppFileText(text, 'web.yaml');
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    const err = caught as ValidationError;
    expect(err.rawMessage.startsWith('invalid app definition in web.yaml: ')).toBe(true);
    expect(err.violations.map((v) => v.path)).toEqual(
      expect.arrayContaining(['cmd', 'cpus', 'instances', 'portDefinitions[0].port', 'env.PORT', 'bogus']),
    );
  });

  it('accepts the example app in examples/web.yaml', async () => {
    const spec = await readAppFile('examples/web.yaml', repoRoot);
    expect(spec).toMatchObject({ id: '/web', instances: 2, cpus: 0.1, mem: 64 });
    expect(spec.cmd).toContain('process.env.PORT0');
    expect(spec.portDefinitions).toEqual([{ port: 0, protocol: 'tcp', name: 'http', labels: {} }]);
  });
});

describe('readAppFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'drover-app-file-'));
    await writeFile(path.join(dir, 'web.json'), JSON.stringify({ id: 'web', args: ['sleep', '60'] }));
    await mkdir(path.join(dir, 'adir.yaml'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('reads a file relative to the working directory', async () => {
    await expect(readAppFile('web.json', dir)).resolves.toMatchObject({ id: '/web', args: ['sleep', '60'] });
  });

  it.each([
    { name: 'a missing file', file: 'nope.yaml', code: Code.InvalidArgument, message: 'cannot read nope.yaml: no such file' },
    { name: 'a directory', file: 'adir.yaml', code: Code.InvalidArgument, message: 'cannot read adir.yaml: it is a directory' },
    { name: 'a path through a file', file: 'web.json/app.yaml', code: Code.InvalidArgument, message: 'cannot read web.json/app.yaml: no such file (a part of the path is not a directory)' },
  ])('fails clearly on $name', async ({ file, code, message }) => {
    const err = await readAppFile(file, dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DroverError);
    expect((err as DroverError).code).toBe(code);
    expect((err as DroverError).rawMessage).toBe(message);
  });
});
