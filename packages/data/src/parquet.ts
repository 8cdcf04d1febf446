// Parquet files (Hugging Face dataset exports) through hyparquet, read one row group at a time so that memory
// is bounded by the largest row group, not by the file. hyparquet is an ES module: it is imported when the first
// Parquet file is opened, so that the rest of the package loads without it.
import * as fs from 'node:fs';
import type { Doc } from './types';
import { DataInputError } from './errors';
import { getField, makeSource, type Source, type SourceStats } from './sources';

export interface ParquetSourceOptions {
  /** Column holding the text (default 'text'); a dotted path reaches into struct columns. */
  field?: string;
  /** Column holding the id (default 'id'); rows without it get `${file}:${row}`. */
  idField?: string;
  /** Skip (and count) rows whose text is missing or not a string instead of failing. */
  skipBad?: boolean;
  name?: string;
}

type Hyparquet = typeof import('hyparquet');
let hyparquet: Promise<Hyparquet> | undefined;
const loadHyparquet = (): Promise<Hyparquet> => (hyparquet ??= import('hyparquet'));

async function* parquetDocs(file: string, opts: ParquetSourceOptions, stats: SourceStats): AsyncGenerator<Doc> {
  const hp = await loadHyparquet();
  let buffer;
  let metadata;
  try {
    buffer = await hp.asyncBufferFromFile(file);
    metadata = await hp.parquetMetadataAsync(buffer);
  } catch (e) {
    throw new DataInputError(`${file}: not a readable Parquet file (${(e as Error).message})`);
  }
  const field = opts.field ?? 'text';
  const idField = opts.idField ?? 'id';
  const columns = hp.parquetSchema(metadata).children.map((c) => c.element.name);
  const top = field.split('.')[0]!;
  if (!columns.includes(top)) throw new DataInputError(`${file}: no column "${top}" (columns: ${columns.join(', ')})`);
  const wanted = columns.includes(idField.split('.')[0]!) ? [top, idField.split('.')[0]!] : [top];
  stats.files++;
  let rowStart = 0;
  for (const group of metadata.row_groups) {
    const rowEnd = rowStart + Number(group.num_rows);
    const rows = await hp.parquetReadObjects({ file: buffer, metadata, columns: [...new Set(wanted)], rowStart, rowEnd });
    for (let i = 0; i < rows.length; i++) {
      const row = rowStart + i;
      const text = getField(rows[i], field);
      if (typeof text !== 'string') {
        const msg = `${file}: row ${row}: ${text === undefined || text === null ? `field "${field}" is missing` : `field "${field}" is not a string`}`;
        if (!opts.skipBad) throw new DataInputError(msg + ' (use skipBad / --skip-bad to skip such rows)');
        stats.badRecords++;
        if (stats.badExamples.length < 5) stats.badExamples.push(msg);
        continue;
      }
      const idv = getField(rows[i], idField);
      const id = typeof idv === 'string' || typeof idv === 'number' || typeof idv === 'bigint' ? String(idv) : `${file}:${row}`;
      yield { id, text, meta: { source: file, row } };
    }
    rowStart = rowEnd;
  }
}

/** Parquet files: one document per row, text in the `field` column. */
export function parquetSource(files: string | string[], opts: ParquetSourceOptions = {}): Source {
  const list = Array.isArray(files) ? files : [files];
  for (const f of list) if (!fs.existsSync(f)) throw new DataInputError(`parquet source: file not found: ${f}`);
  return makeSource(opts.name ?? `parquet:${list.join(',')}`, async function* (stats) {
    for (const f of list) yield* parquetDocs(f, opts, stats);
  });
}
