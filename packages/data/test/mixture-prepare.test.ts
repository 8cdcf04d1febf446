import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng } from '@gptlab/common';
import { arraySource, loadMixture, prepare, resolveMixture, GPT3_MIXTURE, type SourceSummary } from '../src';
import { byteTokenizer, tmpDir } from './helpers';

/** Documents made of one letter only, of varied lengths, so that every token in the shards names its source. */
function letterDocs(letter: string, n: number, seed: number): string[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) =>
    `${letter.repeat(3 + rng.int(40))} ${letter.repeat(1 + rng.int(200))} ${i}`.replace(/\d/g, letter),
  );
}

/** Tokens per source measured on the produced shard files (each end-of-text belongs to the document before it). */
function measuredShares(dir: string, eos: number): Record<string, number> {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  const counts: Record<string, number> = {};
  let total = 0;
  for (const split of ['train', 'val'])
    for (const shard of manifest.splits[split].shards) {
      const buf = fs.readFileSync(path.join(dir, shard.file));
      const ids = new Uint16Array(buf.buffer, buf.byteOffset, buf.length / 2);
      let doc = 0;
      let letter = '';
      for (const t of ids) {
        doc++;
        if (t !== eos && t !== 32) letter = String.fromCharCode(t);
        if (t === eos) {
          counts[letter] = (counts[letter] ?? 0) + doc;
          total += doc;
          doc = 0;
        }
      }
    }
  for (const k of Object.keys(counts)) counts[k]! /= total;
  return counts;
}

describe('prepare --mixture', () => {
  const dir = tmpDir();

  it('measured token shares on the shards are within 1% of the weights; epochs and per-source funnel reported', async () => {
    const tok = byteTokenizer();
    const out = path.join(dir, 'mix');
    const res = await prepare({
      sources: [
        { source: arraySource(letterDocs('a', 300, 1), 'A'), weight: 0.6, name: 'A', stages: { nearDedup: false } },
        { source: arraySource(letterDocs('b', 200, 2), 'B'), weight: 0.3, name: 'B', stages: { nearDedup: false } },
        { source: arraySource(letterDocs('c', 100, 3), 'C'), weight: 0.1, name: 'C', stages: { nearDedup: false } },
      ],
      tokenizer: tok,
      outDir: out,
      valFraction: 0.05,
      mixture: { totalTokens: 120_000, by: 'tokens', schedule: 'deficit' },
      expectedEpochs: { A: 1 },
    });
    const shares = measuredShares(out, tok.eosId!);
    expect(Math.abs(shares.a! - 0.6)).toBeLessThan(0.01);
    expect(Math.abs(shares.b! - 0.3)).toBeLessThan(0.01);
    expect(Math.abs(shares.c! - 0.1)).toBeLessThan(0.01);
    const per = res.report.perSource as SourceSummary[];
    expect(per.map((p) => p.name)).toEqual(['A', 'B', 'C']);
    for (const p of per) {
      expect(Math.abs(p.tokenShare - shares[p.name.toLowerCase()]!)).toBeLessThan(1e-9);
      expect(p.funnel.map((r) => r.stage)).toEqual(['read', 'normalize', 'filter', 'exact-dedup', 'shards']);
      expect(p.epochs).toBeGreaterThan(0);
    }
    // epochs taken = tokens drawn / tokens of one filtered pass (bytes here: one byte per token)
    const mixStats = res.report.mixture as { components: { name: string; bytes: number; bytesPerPass: number | null; epochs: number }[] };
    const a = mixStats.components.find((c) => c.name === 'A')!;
    expect(a.epochs).toBeCloseTo(a.bytes / a.bytesPerPass!, 6);
    expect(per[0]!.expectedEpochs).toBe(1);
    expect(res.manifest.splits.train.tokens + res.manifest.splits.val.tokens).toBeGreaterThanOrEqual(120_000);
  });

  it('mixture files: the gpt3 preset, per-source stages, errors naming file and field', () => {
    const gpt3 = resolveMixture({ preset: 'gpt3' }, 'p', { qualityModel: 'q.json' });
    expect(gpt3.sources.map((s) => [s.name, s.weight, s.quality])).toEqual(
      GPT3_MIXTURE.sources.map((s) => [s.name, s.weight, s.name === 'common-crawl']),
    );
    expect(gpt3.sources[0]!.stages!.quality).toMatchObject({ classifier: 'q.json', alpha: 9 });
    expect(gpt3.sources[1]!.stages!.quality).toBe(false);
    expect(gpt3.mixture).toMatchObject({ by: 'tokens', totalTokens: 2_000_000, schedule: 'deficit' });
    expect(() => resolveMixture({ preset: 'gpt3' }, 'p')).toThrow(/p: sources\[0\] lists the quality stage: give a classifier/);
    const f = path.join(dir, 'mix.json');
    fs.writeFileSync(f, JSON.stringify({ sources: [{ source: 'wordnet', weight: -1 }], total: { docs: 5 } }));
    expect(() => loadMixture(f)).toThrow(`${f}: sources[0].weight must be a number >= 0, got -1`);
    fs.writeFileSync(f, JSON.stringify({ sources: [{ source: 'wordnet', weight: 1, stages: ['dedup'] }], total: { docs: 5 } }));
    expect(() => loadMixture(f)).toThrow(`${f}: sources[0].stages: unknown stage "dedup"`);
    fs.writeFileSync(f, JSON.stringify({ sources: [{ source: 'wordnet', weight: 1 }], total: { docs: 5, tokens: 3 } }));
    expect(() => loadMixture(f)).toThrow(`${f}: total needs exactly one of tokens, docs, bytes`);
    fs.writeFileSync(f, '{"sources": [');
    expect(() => loadMixture(f)).toThrow(`${f}: invalid JSON`);
    expect(() => loadMixture(path.join(dir, 'none.json'))).toThrow(/mixture file not found/);
  });
});
