// Source specs as the CLI and mixture files take them, one string per source.
import * as fs from 'node:fs';
import { crawlSource } from './crawl';
import { DataInputError } from './errors';
import { parquetSource } from './parquet';
import { brownSource, expandGlob, globSource, jsonlSource, stdinSource, textSource, wordnetSource, type Source } from './sources';
import { withoutCompressionSuffix } from './compressed';
import type { WordNetSourceOptions } from './wordnet';

export interface SpecOptions {
  field?: string;
  idField?: string;
  skipBad?: boolean;
}

/** Files named by a path or a glob (`data/*.jsonl.gz`); a glob that matches nothing is an error. */
function filesOf(kind: string, p: string): string[] {
  if (!/[*?{[]/.test(p)) return [p];
  const files = expandGlob(p);
  if (!files.length) throw new DataInputError(`${kind} source: no files match ${p}`);
  return files;
}

/**
 * A source from a spec string: `wordnet[:n,v]`, `brown[:news,fiction]`, `crawl[:DOCS]`, `jsonl:PATH[#field]`,
 * `parquet:PATH[#field]`, `text:PATH`, `lines:PATH`, `paragraphs:PATH`, `glob:PATTERN`, `stdin`, `stdin:jsonl`,
 * or a bare path (`.jsonl` → JSONL, `.parquet` → Parquet, a directory or pattern → glob, otherwise one document
 * per file). PATH may be a glob, and `.gz` / `.zst` files are decompressed as they are read.
 */
export function sourceFromSpec(spec: string, opts: SpecOptions = {}): Source {
  const m = /^(wordnet|brown|crawl|jsonl|parquet|text|lines|paragraphs|glob|stdin)(?::(.*))?$/.exec(spec);
  const kind = m ? m[1]! : '';
  const arg = m ? (m[2] ?? '') : spec;
  const withField = (p: string) => {
    const hash = p.lastIndexOf('#');
    return hash > 0 ? { path: p.slice(0, hash), field: p.slice(hash + 1) || opts.field } : { path: p, field: opts.field };
  };
  const jsonl = (p: string) => {
    const { path, field } = withField(p);
    return jsonlSource(filesOf('jsonl', path), { field, idField: opts.idField, skipBad: opts.skipBad, name: spec });
  };
  const parquet = (p: string) => {
    const { path, field } = withField(p);
    return parquetSource(filesOf('parquet', path), { field, idField: opts.idField, skipBad: opts.skipBad, name: spec });
  };
  switch (kind) {
    case 'wordnet':
      return wordnetSource(arg ? { pos: arg.split(',') as WordNetSourceOptions['pos'] } : {});
    case 'brown':
      return brownSource(arg ? { categories: arg.split(',') } : {});
    case 'crawl': {
      const docs = arg ? Number(arg) : undefined;
      if (docs !== undefined && !(Number.isInteger(docs) && docs > 0))
        throw new DataInputError(`crawl:${arg}: expected a number of documents`);
      return crawlSource({ docs });
    }
    case 'jsonl':
      return jsonl(arg);
    case 'parquet':
      return parquet(arg);
    case 'text':
      return textSource(filesOf('text', arg));
    case 'lines':
      return textSource(filesOf('text', arg), { split: 'line' });
    case 'paragraphs':
      return textSource(filesOf('text', arg), { split: 'paragraph' });
    case 'glob':
      return globSource(arg);
    case 'stdin':
      return stdinSource({ format: (arg || 'jsonl') as 'jsonl', field: opts.field, idField: opts.idField, skipBad: opts.skipBad });
  }
  const plain = withoutCompressionSuffix(withField(spec).path);
  if (/\.jsonl?$/.test(plain)) return jsonl(spec);
  if (/\.parquet$/.test(plain)) return parquet(spec);
  if (/[*?{[]/.test(spec) || (fs.existsSync(spec) && fs.statSync(spec).isDirectory())) return globSource(spec);
  return textSource(spec);
}
