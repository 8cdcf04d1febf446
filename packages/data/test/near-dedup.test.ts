import * as fs from 'node:fs';
import * as path from 'node:path';
import { arraySource, collect, nearDedupStage, dedupJsonl, type DuplicateRecord, type Doc } from '../src';
import { editWords, uniform, randomDoc, refJaccard, refShingles, tmpDir } from './helpers';

/** Corpus of random base documents plus edited copies (some near the threshold, some far). */
function plantedCorpus(seed: number, bases: number): Doc[] {
  const rand = uniform(seed);
  const docs: Doc[] = [];
  for (let b = 0; b < bases; b++) {
    const text = randomDoc(rand, 60 + Math.floor(rand() * 60));
    docs.push({ id: `b${b}`, text });
    const copies = b % 3;
    for (let c = 0; c < copies; c++) {
      // 1 edit → J ≈ 0.9; 6 edits → J ≈ 0.6 (in 60-120 word docs)
      const k = c === 0 ? 1 : 6;
      docs.push({ id: `b${b}c${c}`, text: editWords(text, k, rand) });
    }
  }
  // shuffle deterministically so that copies are not always adjacent to their base
  for (let i = docs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [docs[i], docs[j]] = [docs[j]!, docs[i]!];
  }
  return docs;
}

/** Brute-force reference of the streaming semantics: a document is removed iff an earlier document (removed or
 * not) has exact Jaccard ≥ t with it; the kept document of its cluster is the cluster's earliest member. */
function bruteForce(docs: Doc[], t: number): Map<string, string> {
  const sh = docs.map((d) => refShingles(d.text));
  const parent = docs.map((_, i) => i);
  const find = (x: number): number => (parent[x] === x ? x : (parent[x] = find(parent[x]!)));
  const removed = new Map<string, string>();
  for (let i = 0; i < docs.length; i++) {
    let matched = false;
    for (let j = 0; j < i; j++) {
      if (refJaccard(sh[i]!, sh[j]!) >= t) {
        matched = true;
        const a = find(i);
        const b = find(j);
        if (a !== b) parent[Math.max(a, b)] = Math.min(a, b);
      }
    }
    if (matched) removed.set(docs[i]!.id, docs[find(i)]!.id);
  }
  return removed;
}

describe('near-duplicate removal', () => {
  const docs = plantedCorpus(42, 120);
  const expected = bruteForce(docs, 0.8);

  it('finds exactly the planted near-duplicates (J ≥ 0.8) and names the kept document', async () => {
    expect(expected.size).toBeGreaterThan(20);
    const dups: DuplicateRecord[] = [];
    const st = nearDedupStage({ threshold: 0.8, workers: 0, onDuplicate: (d) => dups.push(d) });
    const out = await collect(st.run(arraySource(docs)));
    expect(new Map(dups.map((d) => [d.id, d.duplicateOf]))).toEqual(expected);
    expect(out.length + dups.length).toBe(docs.length);
    for (const d of dups) {
      expect(d.kind).toBe('near');
      expect(d.jaccard).toBeGreaterThanOrEqual(0.8);
    }
    expect(st.stats.dropped.near_duplicate).toBe(expected.size);
    expect(st.stats.extra.bands).toBe(16);
    expect(st.stats.extra.rows).toBe(8);
  });

  it('worker threads, the SQLite index and the main thread agree', async () => {
    const runs: string[] = [];
    for (const o of [{ workers: 2 }, { workers: 1, index: 'sqlite' as const }]) {
      const dups: DuplicateRecord[] = [];
      await collect(nearDedupStage({ ...o, batchDocs: 16, onDuplicate: (d) => dups.push(d) }).run(arraySource(docs)));
      runs.push(JSON.stringify(dups));
    }
    expect(runs[0]).toBe(runs[1]);
    expect(new Map((JSON.parse(runs[0]!) as DuplicateRecord[]).map((d) => [d.id, d.duplicateOf]))).toEqual(expected);
  });

  it('chains join the earliest cluster (union-find) and unverified mode uses the estimate', async () => {
    const rand = uniform(8);
    const a = randomDoc(rand, 100);
    const b = editWords(a, 2, rand);
    const c = editWords(b, 2, rand);
    const dups: DuplicateRecord[] = [];
    await collect(
      nearDedupStage({ threshold: 0.8, workers: 0, onDuplicate: (d) => dups.push(d) }).run(
        arraySource([
          { id: 'a', text: a },
          { id: 'b', text: b },
          { id: 'c', text: c },
        ]),
      ),
    );
    expect(dups.map((d) => [d.id, d.duplicateOf])).toEqual([
      ['b', 'a'],
      ['c', 'a'],
    ]);
    const b1 = editWords(a, 1, rand); // J ≈ 0.9
    const far = editWords(a, 25, rand); // J ≈ 0.1
    const est: DuplicateRecord[] = [];
    await collect(
      nearDedupStage({ verify: false, workers: 0, onDuplicate: (d) => est.push(d) }).run(
        arraySource([
          { id: 'a', text: a },
          { id: 'b1', text: b1 },
          { id: 'far', text: far },
        ]),
      ),
    );
    expect(est.map((d) => d.id)).toEqual(['b1']);
    expect(est[0]!.estimated).toBeGreaterThanOrEqual(0.8);
    expect(est[0]!.jaccard).toBeUndefined();
  });
});

describe('dedupJsonl', () => {
  const docs = plantedCorpus(7, 60);
  const dir = tmpDir();
  const input = path.join(dir, 'docs.jsonl');
  // add an exact duplicate and a case variant (normalisation keeps case, so the variant is only a near dup)
  const lines = docs.map((d) => JSON.stringify({ id: d.id, text: d.text, extra: 1 }));
  lines.push(JSON.stringify({ id: 'exact-copy', text: docs[0]!.text }));
  fs.writeFileSync(input, lines.join('\n') + '\n');

  it('writes kept lines verbatim and a report naming every removed document', async () => {
    const out = path.join(dir, 'kept.jsonl');
    const report = path.join(dir, 'report.json');
    const r = await dedupJsonl({ input, field: 'text', threshold: 0.8, out, report, workers: 1 });
    const rep = JSON.parse(fs.readFileSync(report, 'utf8'));
    const expected = bruteForce(docs.concat([{ id: 'exact-copy', text: docs[0]!.text }]), 0.8);
    expect(new Map((rep.duplicates as DuplicateRecord[]).map((d) => [d.id, d.duplicateOf]))).toEqual(expected);
    expect(rep.duplicates.find((d: DuplicateRecord) => d.id === 'exact-copy')).toMatchObject({ kind: 'exact' });
    const kept = fs.readFileSync(out, 'utf8').trim().split('\n');
    expect(kept.length).toBe(r.kept);
    expect(kept.length + rep.duplicates.length).toBe(lines.length);
    const keptIds = new Set(kept.map((l) => JSON.parse(l).id));
    for (const d of rep.duplicates as DuplicateRecord[]) {
      expect(keptIds.has(d.id)).toBe(false);
      expect(keptIds.has(d.duplicateOf)).toBe(true);
    }
    expect(kept).toEqual(lines.filter((l) => keptIds.has(JSON.parse(l).id)));
    expect(fs.existsSync(path.join(dir, 'report.svg'))).toBe(true);
    expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('invalid JSON: error with file:line, nothing written; skipBad counts it', async () => {
    const bad = path.join(dir, 'bad.jsonl');
    fs.writeFileSync(bad, '{"id":1,"text":"hello there my friend"}\n{"id":2,"text":"broken\n{"id":3,"text":"fine text here"}\n');
    const out = path.join(dir, 'bad-out.jsonl');
    await expect(dedupJsonl({ input: bad, out, report: path.join(dir, 'bad-report.json') })).rejects.toThrow(`${bad}:2: invalid JSON`);
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.existsSync(path.join(dir, 'bad-report.json'))).toBe(false);
    expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    const r = await dedupJsonl({ input: bad, out, skipBad: true, workers: 0 });
    expect(r.badLines).toBe(1);
    expect(r.kept).toBe(2);
    expect(fs.readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(2);
  });

  it('missing field, missing file and empty input are clear errors', async () => {
    const nf = path.join(dir, 'nofield.jsonl');
    fs.writeFileSync(nf, '{"id":1,"body":"x"}\n');
    await expect(dedupJsonl({ input: nf })).rejects.toThrow(`${nf}:1: field "text" is missing`);
    await expect(dedupJsonl({ input: path.join(dir, 'nope.jsonl') })).rejects.toThrow(/file not found: .*nope\.jsonl/);
    const empty = path.join(dir, 'empty.jsonl');
    fs.writeFileSync(empty, '\n\n');
    await expect(dedupJsonl({ input: empty, out: path.join(dir, 'e.jsonl') })).rejects.toThrow(/contains no documents/);
    expect(fs.existsSync(path.join(dir, 'e.jsonl'))).toBe(false);
  });
});
