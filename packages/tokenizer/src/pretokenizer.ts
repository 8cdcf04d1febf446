// Pre-tokenisers: split text into pieces ("words") that BPE encodes independently.
//
// `GPT2PreTokenizer` is a hand-written scanner equivalent to GPT-2's pattern
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// It classifies code points with a table built once from the engine's own \p{L}, \p{N} and \s, so it cannot
// drift from the regex. What `\s` means differs between regex engines in two code points:
//   - 'unicode' (default): \s = Unicode White_Space, as Python's `regex` module used by GPT-2's encoder.py and
//     OpenAI's tiktoken: U+0085 (NEXT LINE) is whitespace, U+FEFF (BOM / ZWNBSP) is not;
//   - 'ecmascript': JavaScript's \s, as js-tiktoken and gpt-tokenizer: U+FEFF is whitespace, U+0085 is not.
// All other text splits identically. `RegexPreTokenizer` runs any pattern (slower, for other tokenisers).

/** GPT-2's pre-tokenisation pattern (openai/gpt-2 src/encoder.py). */
export const GPT2_PATTERN = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;

/** Splits `text[start, end)`; piece k is `text[bounds[k], bounds[k+1])`. */
export interface PreTokenizer {
  /**
   * Writes piece boundaries into `bounds` (length at least end - start + 1): bounds[0] = start, and returns the
   * number of pieces n, with bounds[n] = end.
   */
  splitRanges(text: string, start: number, end: number, bounds: Int32Array): number;
  /** Convenience: the pieces as strings. */
  split(text: string): string[];
  /** Hugging Face tokenizer.json `pre_tokenizer` value. */
  toJSON(): unknown;
}

const OTHER = 0;
const LETTER = 1;
const NUMBER = 2;
const SPACE = 3;

let BMP: Uint8Array | null = null;
let BMP_UNICODE: Uint8Array | null = null;
const ASTRAL = new Map<number, number>();
const RE_L = /\p{L}/u;
const RE_N = /\p{N}/u;
const RE_S = /\s/u;

function buildBmpTable(): Uint8Array {
  const t = new Uint8Array(65536);
  // One string with every BMP code point except surrogates, scanned once per class.
  const codes: number[] = [];
  for (let c = 0; c < 0x10000; c++) if (c < 0xd800 || c > 0xdfff) codes.push(c);
  let s = '';
  for (let i = 0; i < codes.length; i += 8192) s += String.fromCharCode(...codes.slice(i, i + 8192));
  const mark = (re: RegExp, cls: number) => {
    for (const m of s.matchAll(re)) {
      const i0 = m.index!;
      for (let i = i0; i < i0 + m[0].length; i++) t[s.charCodeAt(i)] = cls;
    }
  };
  mark(/\p{L}+/gu, LETTER);
  mark(/\p{N}+/gu, NUMBER);
  mark(/\s+/gu, SPACE);
  return t;
}

function bmpTable(ws: WhitespaceMode = 'ecmascript'): Uint8Array {
  const js = BMP ?? (BMP = buildBmpTable());
  if (ws === 'ecmascript') return js;
  if (!BMP_UNICODE) {
    BMP_UNICODE = js.slice();
    BMP_UNICODE[0x85] = SPACE;
    BMP_UNICODE[0xfeff] = OTHER;
  }
  return BMP_UNICODE;
}

/** Which characters `\s` matches: Unicode White_Space (GPT-2, tiktoken) or JavaScript's (js-tiktoken). */
export type WhitespaceMode = 'unicode' | 'ecmascript';

function astralClass(cp: number): number {
  let c = ASTRAL.get(cp);
  if (c === undefined) {
    const s = String.fromCodePoint(cp);
    c = RE_L.test(s) ? LETTER : RE_N.test(s) ? NUMBER : RE_S.test(s) ? SPACE : OTHER;
    if (ASTRAL.size < 65536) ASTRAL.set(cp, c);
  }
  return c;
}

/** The class (0 other, 1 letter, 2 number, 3 whitespace) of the code point at i; exported for tests. */
export function charClassAt(text: string, i: number, end = text.length, ws: WhitespaceMode = 'unicode'): number {
  const t = bmpTable(ws);
  const c = text.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < end) {
    const d = text.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return astralClass(0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00));
  }
  return t[c];
}

/** GPT-2 / r50k pre-tokeniser (the `ByteLevel` pre-tokenizer of Hugging Face with `use_regex: true`). */
export class GPT2PreTokenizer implements PreTokenizer {
  readonly pattern = GPT2_PATTERN;
  readonly whitespace: WhitespaceMode;
  private readonly table: Uint8Array;

  constructor(opts: { whitespace?: WhitespaceMode } = {}) {
    const ws = opts.whitespace ?? 'unicode';
    if (ws !== 'unicode' && ws !== 'ecmascript')
      throw new Error(`GPT2PreTokenizer: whitespace must be 'unicode' or 'ecmascript', got ${JSON.stringify(ws)}`);
    this.whitespace = ws;
    this.table = bmpTable(ws);
  }

  splitRanges(text: string, start: number, end: number, bounds: Int32Array): number {
    const t = this.table;
    let n = 0;
    let i = start;
    bounds[0] = start;
    while (i < end) {
      let c = text.charCodeAt(i);
      let j: number;
      // Contractions: 's 't 're 've 'm 'll 'd (lower case only, as in GPT-2).
      if (c === 39 && i + 1 < end) {
        const c1 = text.charCodeAt(i + 1);
        if (c1 === 115 || c1 === 116 || c1 === 109 || c1 === 100) {
          bounds[++n] = i = i + 2;
          continue;
        }
        if (i + 2 < end) {
          const c2 = text.charCodeAt(i + 2);
          if (((c1 === 114 || c1 === 118) && c2 === 101) || (c1 === 108 && c2 === 108)) {
            bounds[++n] = i = i + 3;
            continue;
          }
        }
      }
      // Class of the code point at p (surrogate pairs read as one code point; lone surrogates are "other").
      let p = i;
      let cls: number;
      let w = 1;
      if (c === 32 && i + 1 < end) {
        // " ?X+": a space glued to the run that follows, unless whitespace follows.
        p = i + 1;
        c = text.charCodeAt(p);
      }
      if (c < 0xd800 || c > 0xdbff) cls = t[c];
      else {
        const d = p + 1 < end ? text.charCodeAt(p + 1) : 0;
        if (d >= 0xdc00 && d <= 0xdfff) {
          cls = astralClass(0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00));
          w = 2;
        } else cls = OTHER;
      }
      if (cls === SPACE) {
        // \s+(?!\S) then \s+: a whitespace run, leaving its last character to the next piece when a
        // non-space follows and the run is longer than one character. (p === i here or p = i + 1 with a
        // space at i; either way the run starts at i.)
        j = i + 1;
        while (j < end) {
          const d = text.charCodeAt(j);
          if (d < 0xd800 || d > 0xdbff) {
            if (t[d] !== SPACE) break;
          } else break; // astral code points are never whitespace
          j++;
        }
        if (j < end && j - i >= 2) j--;
        bounds[++n] = i = j;
        continue;
      }
      j = p + w;
      while (j < end) {
        const d = text.charCodeAt(j);
        let k: number;
        let dw = 1;
        if (d < 0xd800 || d > 0xdbff) k = t[d];
        else {
          const e = j + 1 < end ? text.charCodeAt(j + 1) : 0;
          if (e >= 0xdc00 && e <= 0xdfff) {
            k = astralClass(0x10000 + ((d - 0xd800) << 10) + (e - 0xdc00));
            dw = 2;
          } else k = OTHER;
        }
        if (k !== cls) break;
        j += dw;
      }
      bounds[++n] = i = j;
    }
    return n;
  }

  split(text: string): string[] {
    return piecesOf(this, text);
  }

  toJSON(): unknown {
    return { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  }
}

/** Any regular expression as a pre-tokeniser (global matching; text between matches becomes its own piece). */
export class RegexPreTokenizer implements PreTokenizer {
  readonly regex: RegExp;
  constructor(readonly pattern: string) {
    try {
      this.regex = new RegExp(pattern, 'gu');
    } catch (e) {
      throw new Error(`pre-tokenizer pattern is not a valid JavaScript regular expression: ${(e as Error).message}`);
    }
  }

  splitRanges(text: string, start: number, end: number, bounds: Int32Array): number {
    const sub = start === 0 && end === text.length ? text : text.slice(start, end);
    let n = 0;
    let last = 0;
    bounds[0] = start;
    for (const m of sub.matchAll(this.regex)) {
      if (m[0].length === 0) continue;
      if (m.index! > last) bounds[++n] = start + m.index!;
      last = m.index! + m[0].length;
      bounds[++n] = start + last;
    }
    if (last < sub.length) bounds[++n] = end;
    return n;
  }

  split(text: string): string[] {
    return piecesOf(this, text);
  }

  toJSON(): unknown {
    return {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: this.pattern }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    };
  }
}

function piecesOf(pre: PreTokenizer, text: string): string[] {
  if (typeof text !== 'string') throw new TypeError(`split: expected a string, got ${typeof text}`);
  const bounds = new Int32Array(text.length + 1);
  const n = pre.splitRanges(text, 0, text.length, bounds);
  const out: string[] = new Array(n);
  for (let k = 0; k < n; k++) out[k] = text.slice(bounds[k], bounds[k + 1]);
  return out;
}
