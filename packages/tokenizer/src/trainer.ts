// Byte-level BPE training (the algorithm of Sennrich et al. 2016 on bytes, as GPT-2 / Hugging Face `BpeTrainer`):
// pre-tokenise the corpus, count distinct pieces, then repeatedly merge the most frequent adjacent pair.
// Pair counts are updated incrementally: merging (a, b) only visits the words that contain it (an index of
// pair → words), adjusts the counts of the neighbouring pairs, and pushes changed pairs onto a max-heap whose
// stale entries are skipped lazily. Ties are broken by the smaller (a, b) id pair, so training is deterministic.

import { BYTE_TO_CHAR, utf8Into } from './bytes';
import { describe } from './io';
import { GPT2PreTokenizer, type PreTokenizer } from './pretokenizer';
import type { Normalizer } from './normalizer';

export interface TrainProgress {
  phase: 'count' | 'merge' | 'done';
  /** Texts read so far (count phase). */
  texts: number;
  /** Distinct pre-tokenised pieces (words). */
  words: number;
  /** Merges learnt so far and the number wanted. */
  merges: number;
  targetMerges: number;
  /** Count of the pair merged last. */
  lastCount: number;
  seconds: number;
}

export interface TrainOptions {
  /** Final vocabulary size: 256 byte tokens + merges + special tokens. */
  vocabSize: number;
  /** Special tokens, appended after the merges (e.g. ['<|endoftext|>']); never split, never learnt from. */
  specialTokens?: string[];
  /** Stop when the most frequent pair occurs fewer than this many times (default 2). */
  minFrequency?: number;
  /** Called during counting (every 1,000 texts) and merging (every 256 merges) and once at the end. */
  onProgress?: (p: TrainProgress) => void;
  preTokenizer?: PreTokenizer;
  normalizer?: Normalizer;
}

export interface TrainResult {
  vocab: Map<string, number>;
  merges: Array<[string, string]>;
  specialTokens: Map<string, number>;
  stats: { words: number; pieces: number; merges: number; seconds: number; stoppedEarly: boolean };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function trainBPE(texts: Iterable<string>, opts: TrainOptions): TrainResult {
  const t0 = performance.now();
  if (opts === null || typeof opts !== 'object') throw new TypeError(`train: options must be an object, got ${describe(opts)}`);
  const specials = opts.specialTokens ?? [];
  if (!Array.isArray(specials)) throw new TypeError(`train: specialTokens must be an array of strings, got ${describe(specials)}`);
  for (const s of specials) {
    if (typeof s !== 'string' || s === '') throw new TypeError(`train: specialTokens entries must be non-empty strings, got ${describe(s)}`);
  }
  if (new Set(specials).size !== specials.length) throw new Error('train: specialTokens contains duplicates');
  const V = opts.vocabSize;
  if (typeof V !== 'number' || !Number.isInteger(V) || V < 256 + specials.length || V > 1 << 21) {
    throw new RangeError(
      `train: vocabSize must be an integer in [${256 + specials.length}, ${1 << 21}] (256 byte tokens + ${specials.length} special tokens + merges), got ${describe(V)}`,
    );
  }
  const minFreq = opts.minFrequency ?? 2;
  if (typeof minFreq !== 'number' || !(minFreq >= 0)) throw new RangeError(`train: minFrequency must be a number >= 0, got ${describe(minFreq)}`);
  if (texts === null || typeof texts !== 'object' || typeof (texts as any)[Symbol.iterator] !== 'function') {
    throw new TypeError(`train: texts must be an iterable of strings, got ${describe(texts)}`);
  }
  const targetMerges = V - 256 - specials.length;
  const pre = opts.preTokenizer ?? new GPT2PreTokenizer();
  const norm = opts.normalizer;
  const progress = opts.onProgress;
  const elapsed = () => (performance.now() - t0) / 1000;

  // ---- 1. count distinct pieces ------------------------------------------------------------------------
  const specialRe = specials.length
    ? new RegExp([...specials].sort((a, b) => b.length - a.length).map(escapeRegExp).join('|'), 'g')
    : null;
  const counts = new Map<string, number>();
  let bounds = new Int32Array(1024);
  let pieces = 0;
  let nTexts = 0;
  const countSegment = (s: string) => {
    if (norm) s = norm.normalize(s);
    if (bounds.length < s.length + 1) bounds = new Int32Array(s.length + 1024);
    const n = pre.splitRanges(s, 0, s.length, bounds);
    pieces += n;
    for (let k = 0; k < n; k++) {
      const w = s.slice(bounds[k], bounds[k + 1]);
      counts.set(w, (counts.get(w) ?? 0) + 1);
    }
  };
  for (const text of texts) {
    if (typeof text !== 'string') throw new TypeError(`train: texts[${nTexts}] is ${describe(text)}, expected a string`);
    if (specialRe) {
      let last = 0;
      for (const m of text.matchAll(specialRe)) {
        if (m.index! > last) countSegment(text.slice(last, m.index!));
        last = m.index! + m[0].length;
      }
      if (last < text.length) countSegment(last === 0 ? text : text.slice(last));
    } else countSegment(text);
    nTexts++;
    if (progress && nTexts % 1000 === 0) {
      progress({ phase: 'count', texts: nTexts, words: counts.size, merges: 0, targetMerges, lastCount: 0, seconds: elapsed() });
    }
  }

  // ---- 2. words as byte-token ids ----------------------------------------------------------------------
  // Byte tokens get ids 0..255 in the order of their byte-level characters (as GPT-2's encoder.json).
  const order = Array.from({ length: 256 }, (_, b) => b).sort((x, y) => BYTE_TO_CHAR[x].charCodeAt(0) - BYTE_TO_CHAR[y].charCodeAt(0));
  const byteId = new Int32Array(256);
  const tokStr: string[] = [];
  order.forEach((b, i) => {
    byteId[b] = i;
    tokStr.push(BYTE_TO_CHAR[b]);
  });
  const nWords = counts.size;
  const wStart = new Int32Array(nWords);
  const wLen = new Int32Array(nWords);
  const wCount = new Float64Array(nWords);
  let totalBytes = 0;
  for (const w of counts.keys()) totalBytes += w.length * 3;
  let syms = new Int32Array(totalBytes);
  {
    let buf: Uint8Array = new Uint8Array(256);
    let at = 0;
    let wi = 0;
    for (const [w, c] of counts) {
      let n: number;
      [buf, n] = utf8Into(w, 0, w.length, buf);
      wStart[wi] = at;
      wLen[wi] = n;
      wCount[wi] = c;
      for (let i = 0; i < n; i++) syms[at++] = byteId[buf[i]];
      wi++;
    }
    syms = syms.subarray(0, at);
  }
  counts.clear();

  // ---- 3. pair statistics --------------------------------------------------------------------------------
  const pairIndex = new Map<number, number>(); // a * V + b → pair index
  let cap = 1 << 16;
  let pA = new Int32Array(cap);
  let pB = new Int32Array(cap);
  let pCount = new Float64Array(cap);
  let pStamp = new Int32Array(cap);
  const pWhere: number[][] = [];
  let nPairs = 0;
  const pairOf = (a: number, b: number): number => {
    const key = a * V + b;
    let p = pairIndex.get(key);
    if (p === undefined) {
      if (nPairs === cap) {
        cap *= 2;
        const grow = <T extends Int32Array | Float64Array>(x: T): T => {
          const y = new (x.constructor as any)(cap) as T;
          y.set(x);
          return y;
        };
        pA = grow(pA);
        pB = grow(pB);
        pCount = grow(pCount);
        pStamp = grow(pStamp);
      }
      p = nPairs++;
      pA[p] = a;
      pB[p] = b;
      pCount[p] = 0;
      pStamp[p] = -1;
      pWhere.push([]);
      pairIndex.set(key, p);
    }
    return p;
  };
  for (let w = 0; w < nWords; w++) {
    const s = wStart[w];
    const e = s + wLen[w];
    const c = wCount[w];
    for (let i = s; i + 1 < e; i++) {
      const p = pairOf(syms[i], syms[i + 1]);
      pCount[p] += c;
      const wl = pWhere[p];
      if (wl.length === 0 || wl[wl.length - 1] !== w) wl.push(w);
    }
  }

  // ---- 4. max-heap of (count, pair) -------------------------------------------------------------------------
  let hCap = Math.max(1024, nPairs * 2);
  let hCount = new Float64Array(hCap);
  let hPair = new Int32Array(hCap);
  let hn = 0;
  // true when entry (c1, p1) should be popped before (c2, p2)
  const before = (c1: number, p1: number, c2: number, p2: number) =>
    c1 > c2 || (c1 === c2 && (pA[p1] < pA[p2] || (pA[p1] === pA[p2] && pB[p1] < pB[p2])));
  const hpush = (c: number, p: number) => {
    if (hn === hCap) {
      hCap *= 2;
      const nc = new Float64Array(hCap);
      nc.set(hCount);
      hCount = nc;
      const np = new Int32Array(hCap);
      np.set(hPair);
      hPair = np;
    }
    let i = hn++;
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (!before(c, p, hCount[up], hPair[up])) break;
      hCount[i] = hCount[up];
      hPair[i] = hPair[up];
      i = up;
    }
    hCount[i] = c;
    hPair[i] = p;
  };
  const hpop = () => {
    const c = hCount[--hn];
    const p = hPair[hn];
    let i = 0;
    for (;;) {
      let k = 2 * i + 1;
      if (k >= hn) break;
      if (k + 1 < hn && before(hCount[k + 1], hPair[k + 1], hCount[k], hPair[k])) k++;
      if (!before(hCount[k], hPair[k], c, p)) break;
      hCount[i] = hCount[k];
      hPair[i] = hPair[k];
      i = k;
    }
    hCount[i] = c;
    hPair[i] = p;
  };
  for (let p = 0; p < nPairs; p++) if (pCount[p] > 0) hpush(pCount[p], p);

  // ---- 5. merge loop ----------------------------------------------------------------------------------------
  const merges: Array<[string, string]> = [];
  const wSeen = new Int32Array(nWords).fill(-1);
  const changed: number[] = [];
  let lastCount = 0;
  let stoppedEarly = false;
  const strToId = new Map<string, number>();
  tokStr.forEach((t, i) => strToId.set(t, i));
  const targetTokens = 256 + targetMerges;
  while (tokStr.length < targetTokens) {
    if (hn === 0) {
      stoppedEarly = true;
      break;
    }
    const c = hCount[0];
    const p = hPair[0];
    hpop();
    const cur = pCount[p];
    if (c !== cur) {
      if (cur > 0 && cur < c) hpush(cur, p); // count went down since this entry was pushed
      continue;
    }
    if (cur < minFreq || cur <= 0) {
      stoppedEarly = true;
      break;
    }
    const a = pA[p];
    const b = pB[p];
    // Two different pairs can spell the same string ("a"+"bc", "ab"+"c"); they then share one id (as HF).
    const str = tokStr[a] + tokStr[b];
    let m = strToId.get(str);
    if (m === undefined) {
      m = tokStr.length;
      tokStr.push(str);
      strToId.set(str, m);
    }
    merges.push([tokStr[a], tokStr[b]]);
    lastCount = cur;
    const step = merges.length;
    const inc = (x: number, y: number, w: number, by: number) => {
      const q = pairOf(x, y);
      pCount[q] += by;
      const wl = pWhere[q];
      if (wl.length === 0 || wl[wl.length - 1] !== w) wl.push(w);
      if (pStamp[q] !== step) {
        pStamp[q] = step;
        changed.push(q);
      }
    };
    const dec = (x: number, y: number, by: number) => {
      const q = pairIndex.get(x * V + y)!;
      pCount[q] -= by;
    };
    const where = pWhere[p];
    for (let k = 0; k < where.length; k++) {
      const w = where[k];
      if (wSeen[w] === step) continue;
      wSeen[w] = step;
      const s = wStart[w];
      const n = wLen[w];
      const wc = wCount[w];
      let j = s; // write position
      let i = s;
      const e = s + n;
      let hit = false;
      while (i < e) {
        if (i + 1 < e && syms[i] === a && syms[i + 1] === b) {
          hit = true;
          if (j > s) {
            const left = syms[j - 1];
            dec(left, a, wc);
            inc(left, m, w, wc);
          }
          if (i + 2 < e) {
            const right = syms[i + 2];
            dec(b, right, wc);
            inc(m, right, w, wc);
          }
          syms[j++] = m;
          i += 2;
        } else {
          syms[j++] = syms[i++];
        }
      }
      if (hit) wLen[w] = j - s;
    }
    pCount[p] = 0;
    pWhere[p] = [];
    for (const q of changed) if (pCount[q] > 0) hpush(pCount[q], q);
    changed.length = 0;
    if (progress && step % 256 === 0) {
      progress({ phase: 'merge', texts: nTexts, words: nWords, merges: step, targetMerges, lastCount, seconds: elapsed() });
    }
  }

  const vocab = new Map<string, number>();
  tokStr.forEach((t, i) => vocab.set(t, i));
  const specialTokens = new Map<string, number>();
  for (const s of specials) specialTokens.set(s, vocab.size + specialTokens.size);
  const seconds = elapsed();
  progress?.({ phase: 'done', texts: nTexts, words: nWords, merges: merges.length, targetMerges, lastCount, seconds });
  return { vocab, merges, specialTokens, stats: { words: nWords, pieces, merges: merges.length, seconds, stoppedEarly } };
}
