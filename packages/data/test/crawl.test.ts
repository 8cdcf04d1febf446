import { arraySource, collect, crawlDocs, DAMAGE_KINDS, isHeldOutPassage, nearDedupStage, pipe, referencePassages } from '../src';
import { refJaccard, refShingles } from './helpers';

describe('crawl-like source', () => {
  const docs = [...crawlDocs({ docs: 600, seed: 3 })];
  const byId = new Map(docs.map((d) => [d.id, d]));
  const base = new Map([...referencePassages({ heldOut: false })].slice(0, 2000).map((p) => [p.id, p.text]));

  it('is deterministic for a seed and stops at docs / bytes', () => {
    expect([...crawlDocs({ docs: 600, seed: 3 })].map((d) => d.text)).toEqual(docs.map((d) => d.text));
    expect([...crawlDocs({ docs: 50, seed: 4 })].map((d) => d.text)).not.toEqual(docs.slice(0, 50).map((d) => d.text));
    const small = [...crawlDocs({ bytes: 20_000 })];
    const bytes = small.reduce((a, d) => a + Buffer.byteLength(d.text), 0);
    expect(bytes).toBeGreaterThanOrEqual(20_000);
    expect(bytes - Buffer.byteLength(small[small.length - 1]!.text)).toBeLessThan(20_000);
  });

  it('parts of the base text are disjoint', () => {
    const bases = (k: number) => new Set([...crawlDocs({ docs: 300, part: [k, 2], duplicateRate: 0 })].map((d) => d.meta!.base as string));
    const [a, b] = [bases(0), bases(1)];
    expect(a.size).toBe(300);
    expect([...a].some((x) => b.has(x))).toBe(false);
    expect(() => [...crawlDocs({ docs: 1, part: [2, 2] })]).toThrow(/part must be \[k, n\]/);
  });

  it('records its damage: clean pages are the base passage verbatim, damaged ones carry the marks', () => {
    const originals = docs.filter((d) => !d.meta!.duplicateOf);
    const clean = originals.filter((d) => (d.meta!.damage as string[]).length === 0);
    expect(clean.length / originals.length).toBeGreaterThan(0.2);
    expect(clean.length / originals.length).toBeLessThan(0.4);
    for (const d of clean) expect(d.text).toBe(base.get(d.meta!.base as string));
    const marks: Record<string, RegExp> = {
      nav: /All rights reserved\./,
      spam: /\b(cheap|best|free|buy|online|discount|deal|sale|top|download|casino|review|now)\b/,
      markup: /<div class="[a-z-]+"><script>/,
      repeat: /(^|\n)(.+)\n\2\n\2\n\2\n\2\n\2(\n|$)/,
      cookie: /We use cookies to .* \[Accept all\]/,
      symbols: /[#$%^&*~|<>{}[\]@+=]/,
    };
    const seen = new Set<string>();
    for (const d of originals)
      for (const k of d.meta!.damage as string[]) {
        expect(DAMAGE_KINDS).toContain(k);
        expect(d.text).toMatch(marks[k]!);
        expect(d.text).not.toBe(base.get(d.meta!.base as string));
        seen.add(k);
      }
    expect([...seen].sort()).toEqual([...DAMAGE_KINDS].sort());
    // held-out reference passages never enter the crawl
    expect(docs.some((d) => isHeldOutPassage(d.meta!.base as string))).toBe(false);
    expect([...referencePassages({ heldOut: true })].slice(0, 50).every((p) => isHeldOutPassage(p.id))).toBe(true);
  });

  it('plants near-duplicates of earlier pages that brute-force Jaccard and MinHash-LSH both find', async () => {
    const dups = docs.filter((d) => d.meta!.duplicateOf);
    expect(dups.length).toBeGreaterThan(20);
    const js = dups.map((d) => {
      const orig = byId.get(d.meta!.duplicateOf as string)!;
      expect(Number(orig.id.split(':')[1])).toBeLessThan(Number(d.id.split(':')[1]));
      return refJaccard(refShingles(d.text), refShingles(orig.text));
    });
    js.sort((a, b) => a - b);
    expect(js[Math.floor(js.length / 2)]!).toBeGreaterThan(0.8);
    const found = new Set<string>();
    const stage = nearDedupStage({ threshold: 0.8, workers: 1, onDuplicate: (r) => found.add(r.id) });
    await collect(pipe(arraySource(docs), stage));
    const truth = dups.filter(
      (d, i) => js.length && refJaccard(refShingles(d.text), refShingles(byId.get(d.meta!.duplicateOf as string)!.text)) >= 0.8,
    );
    const recall = truth.filter((d) => found.has(d.id)).length / truth.length;
    expect(recall).toBeGreaterThan(0.95);
  });
});
