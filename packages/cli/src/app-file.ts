/**
 * Reading an app definition file. The format follows the extension (.json,
 * .yaml, .yml); any other name is tried as JSON, then as YAML, since YAML is
 * what people write by hand and JSON is what tools generate. The parsed
 * document is then validated locally with the same rules the master applies,
 * so mistakes are reported with their field paths before anything is sent.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Code, DroverError, parseAppDefinition, ValidationError } from '@drover/common';
import type { AppSpec } from '@drover/proto';
import { LineCounter, parseDocument } from 'yaml';

/** Why a named file cannot be read, for the errors that mean the name is wrong. */
const BAD_PATHS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  ENOTDIR: 'no such file (a part of the path is not a directory)',
  EISDIR: 'it is a directory',
};

/** A file could not be parsed as JSON or YAML. */
export class AppFileSyntaxError extends DroverError {
  override name = 'AppFileSyntaxError';
  constructor(
    /** The file, as the user named it. */
    readonly file: string,
    /** The format it was read as. */
    readonly format: 'JSON' | 'YAML',
    detail: string,
  ) {
    super(`${file} is not valid ${format}: ${detail}`, Code.InvalidArgument);
  }
}

/** Parses a document's text; the format comes from the file name's extension. */
export function parseAppDocument(text: string, fileName: string): unknown {
  const ext = path.extname(fileName).toLowerCase();
  if (ext === '.json') return parseJson(text, fileName);
  if (ext === '.yaml' || ext === '.yml') return parseYaml(text, fileName);
  try {
    return parseJson(text, fileName);
  } catch {
    return parseYaml(text, fileName);
  }
}

/**
 * Parses and validates an app definition's text; throws ValidationError
 * naming the file. A file without `instances` gives a spec without it: the
 * master then keeps the app's current count (1 for a new app), so deploying
 * the file again after `drover app scale` does not undo the scale.
 */
export function parseAppFileText(text: string, fileName: string): AppSpec {
  const document = parseAppDocument(text, fileName);
  let spec: AppSpec;
  try {
    spec = parseAppDefinition(document);
  } catch (e) {
    if (e instanceof ValidationError) throw new ValidationError(e.violations, `invalid app definition in ${fileName}`);
    throw e;
  }
  const countGiven = typeof document === 'object' && document !== null && 'instances' in document;
  return countGiven ? spec : { ...spec, instances: undefined };
}

/** Reads, parses and validates an app definition file (path relative to `cwd`). */
export async function readAppFile(file: string, cwd: string): Promise<AppSpec> {
  let text: string;
  try {
    text = await readFile(path.resolve(cwd, file), 'utf8');
  } catch (e) {
    const errno = (e as NodeJS.ErrnoException).code ?? '';
    const why = BAD_PATHS[errno] ?? (e as Error).message;
    // A file name that leads nowhere is bad input (exit 2), like a bad flag; a failing disk is not.
    throw new DroverError(`cannot read ${file}: ${why}`, errno in BAD_PATHS ? Code.InvalidArgument : Code.Unknown, { cause: e });
  }
  return parseAppFileText(text, file);
}

function parseJson(text: string, fileName: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new AppFileSyntaxError(fileName, 'JSON', (e as Error).message);
  }
}

function parseYaml(text: string, fileName: string): unknown {
  // parseDocument collects errors instead of throwing; several documents in
  // one file are an error too (one file, one app).
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const first = doc.errors[0];
  if (first !== undefined) {
    const { line, col } = lineCounter.linePos(first.pos[0]);
    const message = first.code === 'MULTIPLE_DOCS' ? 'it holds more than one document; put one app per file' : first.message;
    throw new AppFileSyntaxError(fileName, 'YAML', `line ${line}, column ${col}: ${message}`);
  }
  return doc.toJS() as unknown;
}
