// JSON Lines: one JSON value per line. Every error names the source and its 1-based line number, so a bad
// record in a million-line file is one look away.

export class JsonlError extends Error {
  constructor(
    readonly source: string,
    readonly line: number,
    message: string,
  ) {
    super(`${source}:${line}: ${message}`);
    this.name = 'JsonlError';
  }
}

/** Parses one line; blank lines give undefined. */
export function parseJsonlLine(text: string, source: string, line: number): unknown {
  const t = text.trim();
  if (t === '') return undefined;
  try {
    return JSON.parse(t);
  } catch (e) {
    throw new JsonlError(source, line, `invalid JSON (${(e as Error).message})`);
  }
}

/** Every non-blank line of `text` as { value, line }. */
export function* parseJsonl(text: string, source = '<jsonl>'): Generator<{ value: unknown; line: number }> {
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const value = parseJsonlLine(lines[i]!, source, i + 1);
    if (value !== undefined) yield { value, line: i + 1 };
  }
}

/** A JSON object record (not an array or scalar), or a JsonlError naming where. */
export function expectObject(value: unknown, source: string, line: number): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new JsonlError(
      source,
      line,
      `expected a JSON object, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`,
    );
  }
  return value as Record<string, unknown>;
}

/** A string field of a record, or a JsonlError naming the field. */
export function stringField(rec: Record<string, unknown>, field: string, source: string, line: number): string {
  const v = rec[field];
  if (typeof v !== 'string') {
    throw new JsonlError(source, line, v === undefined ? `missing field "${field}"` : `field "${field}" must be a string`);
  }
  return v;
}
