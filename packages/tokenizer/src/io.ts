// Parsing of vocabulary/merges files with errors that name the file and the line or field at fault.

import { BYTE_TO_CHAR } from './bytes';

export function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  if (typeof x === 'string') return `the string ${JSON.stringify(x.length > 40 ? x.slice(0, 40) + '…' : x)}`;
  return typeof x === 'object' ? 'an object' : `${typeof x} ${String(x)}`;
}

/** Parses GPT-2 `encoder.json` / Hugging Face `vocab.json`: {token: id}. */
export function parseVocabJson(text: string, source: string): Map<string, number> {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    const hint = /^\s*#version|^[^\s{"]+ [^\s]+\r?\n/.test(text)
      ? ' — this looks like a merges file (vocab.bpe / merges.txt); did you swap the vocab and merges arguments?'
      : '';
    throw new Error(`${source}: not valid JSON (${(e as Error).message})${hint}`);
  }
  return vocabFromObject(obj, source);
}

/** Validates a parsed {token: id} object. */
export function vocabFromObject(obj: unknown, source: string): Map<string, number> {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new Error(`${source}: expected a JSON object {token: id}, got ${describe(obj)}`);
  }
  const vocab = new Map<string, number>();
  for (const [tok, id] of Object.entries(obj as Record<string, unknown>)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 0x7ffffff) {
      throw new Error(`${source}: token ${JSON.stringify(tok)} has id ${JSON.stringify(id)}; ids must be integers in [0, 2^27)`);
    }
    vocab.set(tok, id);
  }
  if (vocab.size === 0) throw new Error(`${source}: the vocabulary is empty`);
  return vocab;
}

export interface ParsedMerges {
  merges: Array<[string, string]>;
  lines: number[];
}

/** Parses GPT-2 `vocab.bpe` / Hugging Face `merges.txt`: an optional `#version` line, then "left right" lines. */
export function parseMergesText(text: string, source: string): ParsedMerges {
  if (/^\s*[{[]/.test(text)) {
    throw new Error(`${source}:1: this looks like JSON, not a merges file — did you swap the vocab and merges arguments?`);
  }
  const rows = text.split('\n');
  const merges: Array<[string, string]> = [];
  const lines: number[] = [];
  for (let i = 0; i < rows.length; i++) {
    let row = rows[i];
    if (row.endsWith('\r')) row = row.slice(0, -1);
    if (i === 0 && row.startsWith('#version')) continue;
    if (row === '') {
      if (i === rows.length - 1) continue; // trailing newline
      throw new Error(`${source}:${i + 1}: empty line inside the merges list`);
    }
    const sp = row.indexOf(' ');
    if (sp <= 0 || sp === row.length - 1 || row.indexOf(' ', sp + 1) !== -1) {
      throw new Error(
        `${source}:${i + 1}: expected two symbols separated by one space, got ${JSON.stringify(row.length > 60 ? row.slice(0, 60) + '…' : row)}`,
      );
    }
    merges.push([row.slice(0, sp), row.slice(sp + 1)]);
    lines.push(i + 1);
  }
  return { merges, lines };
}

/** `#version: 0.2` header + merges lines, as GPT-2's vocab.bpe and Hugging Face's merges.txt. */
export function formatMergesText(merges: ReadonlyArray<readonly [string, string]>): string {
  let s = '#version: 0.2\n';
  for (const [a, b] of merges) s += `${a} ${b}\n`;
  return s;
}

/** True when every character of `s` belongs to the byte-level alphabet. */
export function isByteLevel(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 323 || (c < 256 && BYTE_TO_CHAR[c].charCodeAt(0) !== c)) return false;
  }
  return true;
}
