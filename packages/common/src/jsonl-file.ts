// JSONL files: read whole (small task files) or line by line (corpora), errors naming file:line.
import * as fs from 'node:fs';
import { createInterface } from 'node:readline';
import { JsonlError, parseJsonl, parseJsonlLine } from './jsonl';

/** Every record of a JSONL file with its line number. Throws a clear error for a missing file. */
export function readJsonlFile(file: string): { value: unknown; line: number }[] {
  if (!fs.existsSync(file)) throw new Error(`${file}: file not found`);
  return [...parseJsonl(fs.readFileSync(file, 'utf8'), file)];
}

/** Streams the records of a large JSONL file without holding it in memory. */
export async function* streamJsonlFile(file: string): AsyncGenerator<{ value: unknown; line: number }> {
  if (!fs.existsSync(file)) throw new Error(`${file}: file not found`);
  const rl = createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
  let line = 0;
  for await (const text of rl) {
    line++;
    const value = parseJsonlLine(text, file, line);
    if (value !== undefined) yield { value, line };
  }
}

export { JsonlError };
