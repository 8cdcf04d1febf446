import * as fs from 'node:fs';
import * as path from 'node:path';
import { prepare, arraySource, QualityClassifier, ShardReader, TokenDataset, type Doc } from '../src';
import { byteTokenizer, editWords, uniform, randomDoc, tmpDir } from './helpers';

function corpus(seed: number, n: number, prefix: string): Doc[] {
  const r = uniform(seed);
  const docs: Doc[] = [];
  for (let i = 0; i < n; i++) docs.push({ id: `${prefix}${i}`, text: randomDoc(r, 30 + Math.floor(r() * 30)) });
  return docs;
}

describe('prepare', () => {
  it('runs sources → stages → shards and writes manifest + report (JSON, SVG)', async () => {
    const base = corpus(1, 60, 'd');
    const r = uniform(2);
    base[4] = { id: 'd4', text: randomDoc(r, 120) }; // one edit in 120 words: J ≈ 0.92
    const docs = [
      ...base,
      { id: 'copy', text: base[3]!.text },
      { id: 'near', text: editWords(base[4]!.text, 1, r) },
      { id: 'junk', text: '$$$ ### %%% @@@ ^^^ &&& ***' },
      { id: 'blank', text: ' \u0000 ' },
    ];
    const dir = tmpDir();
    const res = await prepare({
      sources: [arraySource(docs, 'arr')],
      tokenizer: byteTokenizer(),
      outDir: dir,
      valFraction: 0.1,
      nearDedup: { workers: 1 },
    });
    expect(res.manifest.splits.train.docs + res.manifest.splits.val.docs).toBe(60);
    const rep = JSON.parse(fs.readFileSync(path.join(dir, 'report.json'), 'utf8'));
    expect(rep.funnel.map((f: { name: string }) => f.name)).toEqual(['normalize', 'filter', 'exact-dedup', 'near-dedup']);
    const byName = Object.fromEntries(rep.funnel.map((f: { name: string }) => [f.name, f]));
    expect(byName.normalize.dropped).toEqual({ empty: 1 });
    expect(Object.keys(byName.filter.dropped)).toHaveLength(1);
    expect(byName['exact-dedup'].dropped).toEqual({ exact_duplicate: 1 });
    expect(byName['near-dedup'].dropped).toEqual({ near_duplicate: 1 });
    expect(rep.stages[3].examples.near_duplicate[0].id).toBe('near');
    const svg = fs.readFileSync(path.join(dir, 'report.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('near-dedup');
    expect(rep.shards.trainTokens).toBe(res.manifest.splits.train.tokens);
    const sr = new ShardReader(dir);
    expect(sr.readAll('train').length + sr.readAll('val').length).toBe(res.manifest.splits.train.tokens + res.manifest.splits.val.tokens);
    sr.close();
  });

  it('mixes weighted sources per GPT-3 and applies the quality filter only where asked', async () => {
    const a = corpus(3, 80, 'a');
    const b = corpus(4, 20, 'b');
    const clf = await QualityClassifier.train(
      a.map((d) => d.text),
      ['click here buy now free offer', 'cheap deal casino bonus win now', 'login password subscribe cart sale'],
      { bucketsLog2: 12, seed: 1 },
    );
    const dir = tmpDir();
    const res = await prepare({
      sources: [
        { source: arraySource(a, 'A'), weight: 0.5, quality: false },
        { source: arraySource(b, 'B'), weight: 0.5 },
      ],
      tokenizer: byteTokenizer(),
      outDir: dir,
      valFraction: 0.05,
      mixture: { totalDocs: 120, seed: 1 },
      quality: { classifier: clf.classifier, mode: 'threshold', threshold: 0.0 },
      nearDedup: { workers: 0 },
    });
    const mix = res.report.mixture as { components: { name: string; epochs: number; docs: number }[] };
    expect(res.manifest.splits.train.docs + res.manifest.splits.val.docs).toBe(120);
    const B = mix.components.find((c) => c.name === 'B')!;
    expect(B.epochs).toBeGreaterThan(2); // the small source is repeated
    expect(res.report.stages.filter((s) => s.name === 'quality').map((s) => s.source)).toEqual(['B']);
    const ds = new TokenDataset(dir, { blockSize: 16, batchSize: 2 });
    expect(ds.nextBatch().tokens.length).toBe(34);
    ds.close();
  });

  it('clear errors: everything filtered, missing source file; nothing left looking complete', async () => {
    const dir = tmpDir();
    await expect(prepare({ sources: [arraySource(['x', 'y'])], tokenizer: byteTokenizer(), outDir: dir })).rejects.toThrow(/empty corpus/);
    expect(fs.existsSync(path.join(dir, 'manifest.json'))).toBe(false);
    expect(fs.readdirSync(dir)).toEqual([]);
    await expect(prepare({ sources: [path.join(dir, 'missing.jsonl')], tokenizer: byteTokenizer(), outDir: dir })).rejects.toThrow(
      /file not found/,
    );
    await expect(
      prepare({ sources: [arraySource(['hello there friend'])], tokenizer: byteTokenizer(70000), outDir: dir, dtype: 'uint16' }),
    ).rejects.toThrow(/does not fit uint16/);
  });
});
