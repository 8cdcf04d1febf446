// Training: the incremental trainer against a naive one that recounts every pair before every merge; determinism,
// round trips, and the Hugging Face tokenizer.json / GPT-2 file formats.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BPETokenizer, GPT2PreTokenizer, bytesToByteLevel } from '../src';
import { Rng } from '@gptlab/common';
import { wordnetGlosses } from './corpora';
import { CORPUS, GPT2_DIR, gpt2Tokenizer } from './helpers';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gptlab-tok-train-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Deterministic English-ish training text with a skewed word distribution. */
function trainingTexts(n = 400, seed = 1): string[] {
  const words = (
    'the of and to in a is that for it as was with be by on not he this are or his from at which but have an they you were her she ' +
    'there been one all we their has would when if so no will more some what up out who can time only about into them than could ' +
    'its other then these two may first any new like our over such me even most made after also did many before must through back ' +
    "years where much your way well down should because each just those people Mr how too little state good very make world still own see men work long get here between both life being under never day same another know while last might us great old year off come since against go came right used take three it's don't they're we'll I'm"
  ).split(' ');
  const r = new Rng(seed);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    let s = '';
    const len = 5 + Math.floor(r.next() * 15);
    for (let j = 0; j < len; j++) {
      const w = words[Math.floor(Math.pow(r.next(), 2.5) * words.length)]; // Zipf-like
      s += (j === 0 ? w[0].toUpperCase() + w.slice(1) : ' ' + w) + (r.next() < 0.08 ? ',' : '');
    }
    s += r.next() < 0.1 ? '?' : '.';
    if (r.next() < 0.1) s += ' ' + Math.floor(r.next() * 10000);
    out.push(s);
  }
  return out;
}

/** Naive BPE training: recount all pairs before each merge (same tie-break: count, then smaller (a, b) ids). */
function naiveTrain(texts: string[], vocabSize: number, minFrequency: number): Array<[string, string]> {
  const pre = new GPT2PreTokenizer();
  const counts = new Map<string, number>();
  for (const t of texts) for (const p of pre.split(t)) counts.set(p, (counts.get(p) ?? 0) + 1);
  const alphabet = Array.from({ length: 256 }, (_, b) => bytesToByteLevel([b])).sort((x, y) => x.charCodeAt(0) - y.charCodeAt(0));
  const id = new Map(alphabet.map((c, i) => [c, i]));
  const str = [...alphabet];
  const words = [...counts].map(([w, c]) => ({ syms: [...new TextEncoder().encode(w)].map((b) => id.get(bytesToByteLevel([b]))!), c }));
  const merges: Array<[string, string]> = [];
  while (str.length < vocabSize) {
    const pc = new Map<string, number>();
    for (const { syms, c } of words)
      for (let i = 0; i + 1 < syms.length; i++) pc.set(`${syms[i]},${syms[i + 1]}`, (pc.get(`${syms[i]},${syms[i + 1]}`) ?? 0) + c);
    let best: [number, number] | null = null;
    let bestC = 0;
    for (const [k, c] of pc) {
      const [a, b] = k.split(',').map(Number);
      if (c > bestC || (c === bestC && best && (a < best[0] || (a === best[0] && b < best[1])))) {
        best = [a, b];
        bestC = c;
      }
    }
    if (!best || bestC < minFrequency) break;
    const [a, b] = best;
    const s = str[a] + str[b];
    let m = id.get(s);
    if (m === undefined) {
      m = str.length;
      str.push(s);
      id.set(s, m);
    }
    merges.push([str[a], str[b]]);
    for (const w of words) {
      const out: number[] = [];
      for (let i = 0; i < w.syms.length; i++) {
        if (i + 1 < w.syms.length && w.syms[i] === a && w.syms[i + 1] === b) {
          out.push(m);
          i++;
        } else out.push(w.syms[i]);
      }
      w.syms = out;
    }
  }
  return merges;
}

describe('training', () => {
  const texts = trainingTexts();
  const V = 256 + 300 + 1;
  const opts = { vocabSize: V, specialTokens: ['<|endoftext|>'], minFrequency: 2 };
  const tok = BPETokenizer.train(texts, opts);

  test('merges equal the naive recount-everything trainer exactly', () => {
    const ref = naiveTrain(texts, V - 1, 2);
    expect(ref.length).toBe(300);
    expect(tok.model.merges).toEqual(ref);
  });

  test('matches the naive trainer on repetitive and multilingual text too', () => {
    const t2 = [...Object.values(CORPUS), 'aaaaaaaa abababab aaaa ab ab ba ba aab aab', 'banana bandana ananas'];
    const a = BPETokenizer.train(t2, { vocabSize: 256 + 400, minFrequency: 2 });
    expect(a.model.merges).toEqual(naiveTrain(t2, 256 + 400, 2));
  });

  test('matches the naive trainer on real text (1,500 WordNet glosses)', () => {
    const glosses = wordnetGlosses(['adv'], { keepTrailingSpaces: true }).slice(0, 1500);
    const a = BPETokenizer.train(glosses, { vocabSize: 256 + 150, minFrequency: 2 });
    expect(a.model.merges).toEqual(naiveTrain(glosses, 256 + 150, 2));
  });

  test('vocabulary layout: 256 byte tokens, merges, then special tokens at the end', () => {
    expect(tok.vocabSize).toBe(V);
    expect(tok.eosId).toBe(V - 1);
    expect(tok.idToToken(0)).toBe('!');
    expect(tok.idToToken(255)).toBe(bytesToByteLevel([173])); // last byte-level char: U+0143
    expect(tok.idToToken(256)).toBe(tok.model.merges[0].join(''));
    expect(tok.trainStats!.merges).toBe(300);
  });

  test('merges are sensible: frequent English words become single tokens', () => {
    for (const w of ['Ġthe', 'Ġof', 'Ġand', 'Ġto']) expect(tok.tokenToId(w)).toBeDefined();
    expect(tok.encode(' the')).toHaveLength(1);
    const text = texts.join(' ');
    expect(tok.encode(text).length).toBeLessThan(new TextEncoder().encode(text).length / 3);
  });

  test('deterministic: same input, same tokenizer', () => {
    const again = BPETokenizer.train(texts, opts);
    expect(again.hash()).toBe(tok.hash());
    expect(again.model.merges).toEqual(tok.model.merges);
  });

  test('round trip on training text and unseen multilingual text; special tokens never learnt', () => {
    for (const s of [...texts.slice(0, 50), ...Object.values(CORPUS)]) expect(tok.decode(tok.encode(s))).toBe(s);
    const withEot = BPETokenizer.train(
      texts.map((t) => t + '<|endoftext|>'),
      opts,
    );
    expect(withEot.model.merges.some(([a, b]) => (a + b).includes('endoftext'))).toBe(false);
    const ids = withEot.encode('Hello.<|endoftext|>World.', { allowedSpecial: 'all' });
    expect(ids).toContain(withEot.eosId);
    expect(withEot.decode(ids)).toBe('Hello.<|endoftext|>World.');
  });

  test('minFrequency stops early; onProgress reports; bad options are rejected', () => {
    const seen: string[] = [];
    const t = BPETokenizer.train(texts, { vocabSize: 256 + 5000, minFrequency: 50, onProgress: (p) => seen.push(p.phase) });
    expect(t.trainStats!.stoppedEarly).toBe(true);
    expect(t.vocabSize).toBeLessThan(256 + 5000);
    expect(seen[seen.length - 1]).toBe('done');
    expect(() => BPETokenizer.train(texts, { vocabSize: 100 })).toThrow(/train: vocabSize must be an integer in \[256, /);
    expect(() => BPETokenizer.train(['ok', 3 as never], { vocabSize: 300 })).toThrow('train: texts[1] is number 3, expected a string');
    expect(() => BPETokenizer.train('text' as never, { vocabSize: 300 })).toThrow(/train: texts must be an iterable of strings/);
    expect(() => BPETokenizer.train(texts, { vocabSize: 300, specialTokens: ['<a>', '<a>'] })).toThrow(/duplicates/);
  });

  test('accepts any iterable (a generator)', () => {
    function* gen() {
      yield* texts;
    }
    expect(BPETokenizer.train(gen(), opts).hash()).toBe(tok.hash());
  });
});

describe('saving and loading', () => {
  const tok = BPETokenizer.train(trainingTexts(), { vocabSize: 256 + 200 + 1, specialTokens: ['<|endoftext|>'] });
  tok.addSpecialTokens(['<s>', '<$>', '<e>']);
  const docs = [...Object.values(CORPUS), '<s>premise<$>hypothesis<e><|endoftext|>'];

  test('tokenizer.json: Hugging Face shape, and load gives identical ids and hash', () => {
    const file = path.join(tmp, 'tok', 'tokenizer.json');
    tok.save(file);
    const json = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(json.version).toBe('1.0');
    expect(json.model.type).toBe('BPE');
    expect(Object.keys(json.model.vocab)).toHaveLength(tok.vocabSize);
    expect(json.model.merges).toHaveLength(200);
    expect(json.model.merges[0]).toMatch(/^\S+ \S+$/);
    expect(json.pre_tokenizer).toEqual({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true });
    expect(json.decoder.type).toBe('ByteLevel');
    expect(json.normalizer).toBeNull();
    expect(json.added_tokens.map((t: any) => [t.id, t.content, t.special])).toEqual([
      [456, '<|endoftext|>', true],
      [457, '<s>', true],
      [458, '<$>', true],
      [459, '<e>', true],
    ]);
    const back = BPETokenizer.load(file);
    expect(back.hash()).toBe(tok.hash());
    expect(back.vocabSize).toBe(tok.vocabSize);
    for (const d of docs) {
      expect(back.encode(d)).toEqual(tok.encode(d));
      expect(back.encode(d, { allowedSpecial: 'all' })).toEqual(tok.encode(d, { allowedSpecial: 'all' }));
    }
    expect(BPETokenizer.fromDir(path.dirname(file)).hash()).toBe(tok.hash());
  });

  test('merges written as pairs (newer tokenizers versions) load too', () => {
    const json = tok.toJSON() as any;
    json.model.merges = json.model.merges.map((m: string) => m.split(' '));
    expect(BPETokenizer.fromJSON(json).hash()).toBe(tok.hash());
  });

  test('vocab.json + merges.txt: identical ids, special tokens recovered', () => {
    const dir = path.join(tmp, 'gpt2files');
    const { vocab, merges } = tok.saveGPT2Files(dir);
    expect(fs.readFileSync(merges, 'utf8').split('\n')[0]).toBe('#version: 0.2');
    const back = BPETokenizer.fromGPT2Files(vocab, merges);
    expect(back.hash()).toBe(tok.hash());
    expect([...back.specialTokens]).toEqual([...tok.specialTokens].sort((a, b) => a[1] - b[1]));
    for (const d of docs) expect(back.encode(d, { allowedSpecial: 'all' })).toEqual(tok.encode(d, { allowedSpecial: 'all' }));
    expect(BPETokenizer.fromDir(dir).hash()).toBe(tok.hash());
  });

  test('GPT-2 itself: fromDir(encoder.json + vocab.bpe), save/load and saveGPT2Files keep the hash', () => {
    const g = gpt2Tokenizer();
    expect(BPETokenizer.fromDir(GPT2_DIR).hash()).toBe(g.hash());
    const file = path.join(tmp, 'gpt2', 'tokenizer.json');
    g.save(file);
    const back = BPETokenizer.load(file);
    expect(back.hash()).toBe(g.hash());
    expect(back.encode(CORPUS.english)).toEqual(g.encode(CORPUS.english));
    const files = g.saveGPT2Files(path.join(tmp, 'gpt2b'));
    expect(fs.readFileSync(files.merges, 'utf8')).toBe(fs.readFileSync(path.join(GPT2_DIR, 'vocab.bpe'), 'utf8').replace(/\n*$/, '\n'));
    expect(BPETokenizer.fromGPT2Files(files.vocab, files.merges).hash()).toBe(g.hash());
  });

  test('hash is a sha256 hex string that changes with the merges', () => {
    expect(tok.hash()).toMatch(/^[0-9a-f]{64}$/);
    const other = BPETokenizer.train(trainingTexts(), { vocabSize: 256 + 199 + 1, specialTokens: ['<|endoftext|>'] });
    expect(other.hash()).not.toBe(
      BPETokenizer.train(trainingTexts(), { vocabSize: 256 + 200 + 1, specialTokens: ['<|endoftext|>'] }).hash(),
    );
  });
});
