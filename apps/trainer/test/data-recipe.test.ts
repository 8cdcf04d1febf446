// The GPT-3 data recipe through the CLI: crawl → quality train/score → decontaminate → prepare --mixture.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crawlDocs, rocAuc } from '@gptlab/data';
import { tmpDir, trainInProcess as run } from './helpers';

const readJsonl = (f: string) =>
  fs
    .readFileSync(f, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('gptlab-train data: the GPT-3 recipe', () => {
  const dir = tmpDir('data-recipe');
  const crawl = path.join(dir, 'crawl.jsonl');
  const ref = path.join(dir, 'ref.jsonl');
  const model = path.join(dir, 'quality.json');

  test('data crawl writes damaged pages with their ground truth, and held-out reference passages', async () => {
    expect((await run(['data', 'crawl', '--docs', '500', '--out', crawl])).code).toBe(0);
    const docs = readJsonl(crawl);
    expect(docs).toHaveLength(500);
    expect(docs.every((d) => Array.isArray(d.damage) && typeof d.base === 'string')).toBe(true);
    expect(docs.some((d) => typeof d.duplicateOf === 'string')).toBe(true);
    expect((await run(['data', 'crawl', '--reference', '--docs', '400', '--out', ref])).code).toBe(0);
    expect(readJsonl(ref)).toHaveLength(400);
  });

  test('data quality train stores held-out AUC and accuracy; the classifier ranks clean pages above damaged ones', async () => {
    const r = await run(['data', 'quality', 'train', '--positive', ref, '--negative', crawl, '--out', model, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.heldOutDocs).toBe(90);
    expect(j.heldOutAuc).toBeGreaterThan(0.7);
    expect(j.heldOutAccuracy).toBeGreaterThan(0.6);
    const saved = JSON.parse(fs.readFileSync(model, 'utf8'));
    expect(saved.info.heldOutAuc).toBe(j.heldOutAuc);
    expect(saved.info.heldOutAccuracy).toBe(j.heldOutAccuracy);
    // a fresh planted set (another seed): ground truth says which pages were damaged
    const planted = [...crawlDocs({ docs: 300, seed: 99, duplicateRate: 0 })];
    const input = path.join(dir, 'planted.jsonl');
    fs.writeFileSync(input, planted.map((d) => JSON.stringify({ id: d.id, body: d.text })).join('\n') + '\n');
    const scored = path.join(dir, 'scored.jsonl');
    expect((await run(['data', 'quality', 'score', '--model', model, '--input', input, '--field', 'body', '--out', scored])).code).toBe(0);
    const rows = readJsonl(scored);
    expect(rows.map((x) => x.id)).toEqual(planted.map((d) => d.id));
    const clean = planted.map((d) => ((d.meta!.damage as string[]).length === 0 ? 1 : 0));
    expect(
      rocAuc(
        rows.map((x) => x.quality_score as number),
        clean,
      ),
    ).toBeGreaterThan(0.9);
  });

  test('data quality score: bad lines name file:line, --skip-bad counts them, nothing written on failure', async () => {
    const input = path.join(dir, 'bad.jsonl');
    fs.writeFileSync(input, '{"text":"good words"}\n{"text":\n');
    const out = path.join(dir, 'never.jsonl');
    const r = await run(['data', 'quality', 'score', '--model', model, '--input', input, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`gptlab-train data quality score: ${input}:2: invalid JSON`));
    expect(fs.existsSync(out)).toBe(false);
    const ok = await run(['data', 'quality', 'score', '--model', model, '--input', input, '--out', out, '--skip-bad']);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toMatch(/1 records scored .*1 bad lines skipped/);
  });

  test('data decontaminate drops documents sharing a 13-gram with a task file', async () => {
    const docs = readJsonl(crawl).slice(0, 50);
    const victim = (docs[7]!.text as string).split(/\s+/).slice(0, 20).join(' ');
    const tasks = path.join(dir, 'tasks.jsonl');
    fs.writeFileSync(tasks, JSON.stringify({ context: `Read this: ${victim}`, choices: ['yes', 'no'], gold: 0 }) + '\n');
    const input = path.join(dir, 'fifty.jsonl');
    fs.writeFileSync(input, docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
    const out = path.join(dir, 'clean.jsonl');
    const report = path.join(dir, 'decon.json');
    const r = await run(['data', 'decontaminate', '--input', input, '--against', tasks, '--out', out, '--report', report]);
    expect(r.code).toBe(0);
    const removed = JSON.parse(fs.readFileSync(report, 'utf8')).removedDocs.map((d: { id: string }) => d.id);
    expect(removed).toContain(docs[7]!.id);
    expect(readJsonl(out).length).toBe(50 - removed.length);
  });

  test('data prepare --mixture: per-source stages, shares and epochs printed', async () => {
    const { BPETokenizer } = await import('@gptlab/tokenizer');
    const tok = BPETokenizer.train(
      readJsonl(ref).map((d) => d.text as string),
      { vocabSize: 300, specialTokens: ['<|endoftext|>'] },
    );
    const tokFile = path.join(dir, 'tok.json');
    fs.writeFileSync(tokFile, JSON.stringify(tok.toJSON()));
    const mix = path.join(dir, 'mix.json');
    fs.writeFileSync(
      mix,
      JSON.stringify({
        sources: [
          { name: 'crawl', source: crawl, weight: 0.6, stages: ['normalize', 'filter', 'exact-dedup', 'near-dedup', 'quality'] },
          { name: 'reference', source: ref, weight: 0.4, epochs: 2 },
        ],
        quality: { model, mode: 'threshold', threshold: 0.5 },
        total: { tokens: 30000 },
      }),
    );
    const out = path.join(dir, 'shards');
    const r = await run(['data', 'prepare', '--mixture', mix, '--tokenizer', tokFile, '--out', out]);
    expect(r.code).toBe(0);
    const share = (name: string) => Number(new RegExp(`${name}: weight [\\d.]+%, share ([\\d.]+)%`).exec(r.stderr)![1]);
    // within about one document (~500 tokens of 30,000 here; packages/data tests the 1% bound on many documents)
    expect(Math.abs(share('crawl') - 60)).toBeLessThan(2.5);
    expect(Math.abs(share('reference') - 40)).toBeLessThan(2.5);
    expect(r.stderr).toMatch(/epochs <1 \(table: 2\)/);
    const rep = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
    const crawlStages = rep.perSource[0].funnel.map((x: { stage: string }) => x.stage);
    expect(crawlStages).toEqual(['read', 'normalize', 'filter', 'exact-dedup', 'near-dedup', 'quality', 'shards']);
    expect(rep.perSource[1].funnel.map((x: { stage: string }) => x.stage)).not.toContain('quality');
    const bad = await run(['data', 'prepare', '--mixture', 'gpt3', '--tokenizer', tokFile, '--out', path.join(dir, 'x')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/lists the quality stage: give a classifier/);
  });

  test('nested help: data lists quality; data quality lists train and score', async () => {
    expect((await run(['data', '--help'])).stdout).toMatch(/quality\s+GPT-3's quality classifier/);
    const h = await run(['data', 'quality', '--help']);
    expect(h.stdout).toMatch(/usage: gptlab-train data quality <command>/);
    expect(h.stdout).toMatch(/train\s+train the quality classifier/);
    const u = await run(['data', 'quality', 'train', '--positive', ref]);
    expect(u.code).toBe(2);
    expect(u.stderr).toMatch(/^gptlab-train data quality train: missing required flag --negative/);
  });
});
