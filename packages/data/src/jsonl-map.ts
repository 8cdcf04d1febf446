// Rewriting a JSONL file record by record (quality scores, decontamination): every line is parsed with its
// file:line, malformed lines fail (or with skipBad are counted and dropped), and the output is written to a
// temp file that becomes `out` only when the whole input was read — a failure leaves nothing behind.
import { AtomicWriter } from '@gptlab/common/node';
import { readFileChunks } from './compressed';
import { DataInputError } from './errors';
import { parseTextRecord } from './sources';
import { decodeUtf8, readLines, truncate } from './util';

export interface JsonlRecord {
  obj: Record<string, unknown>;
  /** The text field's value. */
  text: string;
  /** 1-based line number in the input. */
  line: number;
}

export interface MapJsonlOptions {
  input: string;
  /** Output JSONL (optional: without it the records are only visited). */
  out?: string;
  /** Text field (dotted path), default 'text'. */
  field?: string;
  skipBad?: boolean;
  /** Command name for messages ("quality score"). */
  what: string;
}

export interface MapJsonlResult {
  records: number;
  written: number;
  badLines: number;
  badExamples: string[];
}

/**
 * Calls `fn` on each record in order; `fn` returns the object to write, or null to drop the record. An input
 * without any record is an error (an empty output would look like success).
 */
export async function mapJsonlFile(
  opts: MapJsonlOptions,
  fn: (rec: JsonlRecord) => Record<string, unknown> | null | Promise<Record<string, unknown> | null>,
): Promise<MapJsonlResult> {
  const field = opts.field ?? 'text';
  const res: MapJsonlResult = { records: 0, written: 0, badLines: 0, badExamples: [] };
  const bad = (msg: string, raw: string) => {
    if (!opts.skipBad) throw new DataInputError(`${msg} (use --skip-bad to skip such lines)`);
    res.badLines++;
    if (res.badExamples.length < 5) res.badExamples.push(`${msg}: ${truncate(raw, 80)}`);
  };
  const writer = opts.out ? new AtomicWriter(opts.out) : null;
  try {
    for await (const { line, lineNo } of readLines(readFileChunks(opts.input))) {
      const raw = decodeUtf8(line).text;
      if (!raw.trim()) continue;
      const rec = parseTextRecord(raw, opts.input, lineNo, field);
      if ('error' in rec) {
        bad(rec.error, raw);
        continue;
      }
      res.records++;
      const outObj = await fn({ obj: rec.obj, text: rec.text, line: lineNo });
      if (outObj && writer) {
        writer.write(JSON.stringify(outObj) + '\n');
        res.written++;
      }
    }
    if (res.records === 0)
      throw new DataInputError(
        `${opts.what}: ${opts.input} contains no records${res.badLines ? ` (${res.badLines} bad lines skipped)` : ''}`,
      );
    writer?.commit();
  } catch (e) {
    writer?.abort();
    throw e;
  }
  return res;
}
