import * as path from 'node:path';
import { QualityClassifier, qualityStage, rocAuc, mixture, arraySource, collect, type Doc } from '../src';
import { uniform, tmpDir } from './helpers';

const GOOD = 'the of and a in to is was for on with as by that at from his her which were are this be an it their had'
  .split(' ')
  .concat('river history music science village language theory region species century'.split(' '));
const BAD = 'click here buy now free offer login cookie cart sale subscribe password casino win cheap deal viagra bonus'.split(' ');

function synthetic(seed: number, n: number, vocab: string[], noise: string[]): string[] {
  const r = uniform(seed);
  return Array.from({ length: n }, () =>
    Array.from(
      { length: 20 + Math.floor(r() * 20) },
      () => (r() < 0.85 ? vocab : noise)[Math.floor(r() * (r() < 0.85 ? vocab : noise).length)],
    ).join(' '),
  );
}

describe('quality classifier', () => {
  const pos = synthetic(1, 400, GOOD, BAD);
  const neg = synthetic(2, 400, BAD, GOOD);

  it('separates a separable synthetic set (held-out AUC) and round-trips save/load', async () => {
    const r = await QualityClassifier.train(pos, neg, { seed: 3, bucketsLog2: 14 });
    expect(r.heldOutDocs).toBe(80);
    expect(r.heldOutAuc).toBeGreaterThan(0.98);
    expect(r.classifier.score(pos[0]!)).toBeGreaterThan(0.5);
    expect(r.classifier.score(neg[0]!)).toBeLessThan(0.5);
    const f = path.join(tmpDir(), 'clf.json');
    r.classifier.save(f);
    const back = QualityClassifier.load(f);
    for (const t of [pos[5]!, neg[7]!, 'unseen words entirely']) expect(back.score(t)).toBeCloseTo(r.classifier.score(t), 6);
    expect(back.info.heldOutAuc).toBeCloseTo(r.heldOutAuc, 10);
  });

  it('an unlearnable (random-label) set has AUC near 0.5', async () => {
    const all = synthetic(9, 600, GOOD.concat(BAD), []);
    const r = await QualityClassifier.train(all.slice(0, 300), all.slice(300), { seed: 1, bucketsLog2: 14, heldOut: 0.3 });
    expect(Math.abs(r.heldOutAuc - 0.5)).toBeLessThan(0.15);
  });

  it('rocAuc handles ties and perfect rankings', () => {
    expect(rocAuc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])).toBe(1);
    expect(rocAuc([0.5, 0.5], [0, 1])).toBe(0.5);
    expect(rocAuc([0.9, 0.1], [0, 1])).toBe(0);
  });

  it('stage: pareto keeps more high-score docs; threshold mode is deterministic', async () => {
    const { classifier } = await QualityClassifier.train(pos, neg, { seed: 3, bucketsLog2: 14 });
    const docs: Doc[] = [
      ...pos.slice(0, 100).map((t, i) => ({ id: `p${i}`, text: t })),
      ...neg.slice(0, 100).map((t, i) => ({ id: `n${i}`, text: t })),
    ];
    const st = qualityStage({ classifier, seed: 5 });
    const kept = await collect(st.run(arraySource(docs)));
    const keptPos = kept.filter((d) => d.id.startsWith('p')).length;
    const keptNeg = kept.length - keptPos;
    expect(keptPos).toBeGreaterThan(80); // score ≈ 1 → P(keep) = (2 - s)^-9 ≈ 1
    expect(keptNeg).toBeLessThan(10); // score ≈ 0 → P(keep) ≈ 2^-9
    expect(st.stats.dropped.low_quality).toBe(200 - kept.length);
    const th = qualityStage({ classifier, mode: 'threshold', threshold: 0.5 });
    expect((await collect(th.run(arraySource(docs)))).every((d) => d.id.startsWith('p'))).toBe(true);
    await expect(QualityClassifier.train(['x'], ['y'])).rejects.toThrow(/at least 2/);
  });
});

describe('mixture', () => {
  const A = Array.from({ length: 50 }, (_, i) => ({ id: `a${i}`, text: 'aaaa aaaa' }));
  const B = Array.from({ length: 10 }, (_, i) => ({ id: `b${i}`, text: 'bbbb bbbb' }));
  it('samples by weight and tracks epochs per source', async () => {
    const m = mixture(
      [
        { name: 'A', weight: 3, open: () => arraySource(A) },
        { name: 'B', weight: 1, open: () => arraySource(B) },
      ],
      { totalDocs: 400, seed: 2 },
    );
    const docs = await collect(m.stream);
    expect(docs).toHaveLength(400);
    const a = m.stats.components[0]!;
    const b = m.stats.components[1]!;
    expect(a.docs + b.docs).toBe(400);
    expect(Math.abs(a.share - 0.75)).toBeLessThan(0.06);
    expect(b.passes).toBeGreaterThanOrEqual(8); // ~100 B docs / 10 per pass
    expect(b.epochs!).toBeCloseTo(b.docs / 10, 6);
    expect(a.epochs!).toBeCloseTo(a.docs / 50, 6);
    expect(docs[0]!.meta!.mixture).toBeDefined();
    expect(m.stats.stoppedBecause).toMatch(/totalDocs/);
  });
  it('without a budget stops when a source first runs out; rejects empty sources', async () => {
    const m = mixture(
      [
        { name: 'A', weight: 1, open: () => arraySource(A) },
        { name: 'B', weight: 1, open: () => arraySource(B) },
      ],
      { seed: 1, by: 'docs' },
    );
    const docs = await collect(m.stream);
    expect(m.stats.components[1]!.docs).toBe(10);
    expect(docs.length).toBeLessThan(60);
    expect(m.stats.stoppedBecause).toMatch(/"B" ran out/);
    const e = mixture([{ name: 'E', weight: 1, open: () => arraySource([]) }], { totalDocs: 5 });
    await expect(collect(e.stream)).rejects.toThrow(/"E" yielded no documents/);
  });
});
