import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng } from '@gptlab/common';
import { decontaminateJsonl, overlapWords } from '../src';
import { tmpDir } from './helpers';

const VOCAB = 'the a model data text of and to in is on for with by tokens paris london capital france answer question'.split(' ');

/** Oracle: does `doc` contain, as a contiguous word sequence, any window of min(n, |t|) words of any task text? */
function oracleContaminated(doc: string, taskTexts: string[], n: number, minWords = 8): boolean {
  const hay = ` ${overlapWords(doc).join(' ')} `;
  return taskTexts.some((t) => {
    const w = overlapWords(t);
    if (w.length < Math.min(n, minWords)) return false;
    const len = Math.min(n, w.length);
    for (let i = 0; len > 0 && i + len <= w.length; i++) if (hay.includes(` ${w.slice(i, i + len).join(' ')} `)) return true;
    return false;
  });
}

describe('decontaminate', () => {
  const dir = tmpDir();

  it('removes exactly the documents with an N-gram collision (brute-force oracle)', async () => {
    const rng = new Rng(7);
    const words = (k: number) => Array.from({ length: k }, () => VOCAB[rng.int(VOCAB.length)]!).join(' ');
    const mc = Array.from({ length: 30 }, () => ({ context: words(10 + rng.int(20)), choices: [words(3), words(2)], gold: rng.int(2) }));
    const gen = Array.from({ length: 20 }, () => ({ context: words(14 + rng.int(10)), answers: [words(2)] }));
    const short = [{ text: 'Capital, France!' }, { text: 'the capital of france is paris, and london is not' }];
    const taskTexts = [
      ...mc.flatMap((t) => [t.context, ...t.choices, `${t.context} ${t.choices[t.gold]}`]),
      ...gen.flatMap((t) => [t.context, ...t.answers, `${t.context} ${t.answers[0]}`]),
      'capital france',
      'the capital of france is paris and london is not',
    ];
    const docs: { id: string; text: string }[] = [];
    for (let i = 0; i < 300; i++) {
      let text = words(5 + rng.int(60));
      if (i % 5 === 0) {
        // plant a window of a task text, re-cased and re-punctuated, inside a document
        const src = overlapWords(rng.next() < 0.5 ? mc[rng.int(mc.length)]!.context : gen[rng.int(gen.length)]!.context);
        const k = 10 + rng.int(6);
        const at = rng.int(Math.max(1, src.length - k));
        text = `${words(rng.int(10))} ${src
          .slice(at, at + k)
          .join(', ')
          .toUpperCase()} ${words(rng.int(10))}`;
      }
      if (i === 7) text = 'We read that The Capital of France is Paris and London is not, said the model.';
      if (i === 8) text = 'capital, france and nothing else';
      docs.push({ id: `d${i}`, text });
    }
    const f = (name: string, lines: unknown[]) => {
      fs.writeFileSync(path.join(dir, name), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
      return path.join(dir, name);
    };
    const input = f('train.jsonl', docs);
    const against = [f('mc.jsonl', mc), f('gen.jsonl', gen), f('lastword.jsonl', short)];
    for (const n of [13, 8]) {
      const out = path.join(dir, `clean-${n}.jsonl`);
      const report = path.join(dir, `report-${n}.json`);
      const r = await decontaminateJsonl({ input, against, out, report, ngram: n });
      const expected = docs.filter((d) => !oracleContaminated(d.text, taskTexts, n)).map((d) => d.id);
      const kept = fs
        .readFileSync(out, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).id);
      expect(kept).toEqual(expected);
      expect(r.removed).toBe(docs.length - expected.length);
      expect(r.removed).toBeGreaterThan(10);
      expect(kept).not.toContain('d7'); // the 10-word last-word text, matched whole under N = 13
      expect(kept).toContain('d8'); // a 2-word text is too short to count
      const rep = JSON.parse(fs.readFileSync(report, 'utf8'));
      expect(rep.removedDocs).toHaveLength(r.removed);
      expect(Object.values(rep.perTask as Record<string, { removedDocs: number }>).reduce((a, t) => a + t.removedDocs, 0)).toBe(r.removed);
      for (const d of rep.removedDocs)
        expect(` ${overlapWords(docs.find((x) => x.id === d.id)!.text).join(' ')} `).toContain(` ${d.ngram} `);
    }
  });

  it('bad input: task and input lines name file:line; nothing is written', async () => {
    const input = path.join(dir, 'in.jsonl');
    fs.writeFileSync(input, '{"id":1,"text":"fine words here"}\n{"id":2}\n');
    const task = path.join(dir, 't.jsonl');
    fs.writeFileSync(task, '{"context":"a b c","choices":["x"],"gold":0}\n{"context":"q","choices":"nope"}\n');
    const out = path.join(dir, 'never.jsonl');
    await expect(decontaminateJsonl({ input, against: [task], out })).rejects.toThrow(
      `${task}:2: field "choices" must be an array of strings`,
    );
    fs.writeFileSync(task, '{"context":"a b c","choices":["x"],"gold":0}\n');
    await expect(decontaminateJsonl({ input, against: [task], out })).rejects.toThrow(`${input}:2: field "text" is missing`);
    expect(fs.existsSync(out)).toBe(false);
    const r = await decontaminateJsonl({ input, against: [task], out, skipBad: true });
    expect([r.records, r.badLines, r.removed]).toEqual([1, 1, 0]);
  });
});
