import { loadWordNet } from '@gptlab/data';
import { judge, isCompliant, type JudgeKey } from '../src/align/judge';
import { buildWordNetInstruct, instructConversation, preferenceRecord, wordnetPreferencePairs } from '../src/align/wordnet-instruct';

describe('judge', () => {
  const define: JudgeKey = { task: 'define', system: 'sentence', answers: ['a member of the genus Canis'] };
  it('correctness against WordNet ignores case and punctuation', () => {
    expect(judge(define, 'The word "dog" means a member of the genus Canis.')).toEqual({ correct: true, compliant: true, score: 1 });
    expect(judge(define, 'a piece of furniture').correct).toBe(false);
    const syn: JudgeKey = { task: 'synonym', system: 'capitals', answers: ['automobile', 'machine'] };
    expect(judge(syn, 'AUTOMOBILE')).toEqual({ correct: true, compliant: true, score: 1 });
    expect(judge(syn, 'automobiles')).toEqual({ correct: false, compliant: false, score: 0 });
    const isa: JudgeKey = { task: 'isa', system: 'yes-no', answers: ['no'] };
    expect(judge(isa, 'No, a dog is not a kind of chair.').score).toBe(1);
    expect(judge(isa, 'Yes.').correct).toBe(false);
  });
  it('compliance per system prompt', () => {
    expect(isCompliant('one-word', 'automobile.')).toBe(true);
    expect(isCompliant('one-word', 'an automobile')).toBe(false);
    expect(isCompliant('sentence', 'It is a dog.')).toBe(true);
    expect(isCompliant('sentence', 'It is. A dog.')).toBe(false);
    expect(isCompliant('sentence', 'it is a dog.')).toBe(false);
    expect(isCompliant('capitals', 'A DOG.')).toBe(true);
    expect(isCompliant('capitals', 'A Dog')).toBe(false);
    expect(isCompliant('yes-no', 'Yesterday it was')).toBe(false);
    expect(isCompliant('yes-no', 'No, never')).toBe(true);
  });
});

describe('WordNet instruction data', () => {
  const wn = loadWordNet();
  const data = buildWordNetInstruct({ wordnet: wn, limits: { train: 600, dev: 100, test: 100 }, seed: 7 });

  it('fills every split, covers every task and system prompt, and keeps synsets apart', () => {
    expect(data.train).toHaveLength(600);
    expect(data.test).toHaveLength(100);
    const all = [...data.train, ...data.dev, ...data.test];
    expect(new Set(all.map((i) => i.task))).toEqual(new Set(['define', 'hypernym', 'synonym', 'example', 'isa']));
    expect(new Set(all.map((i) => i.system))).toEqual(new Set(['none', 'one-word', 'sentence', 'capitals', 'yes-no']));
    const train = new Set(data.train.map((i) => i.synsetId));
    expect([...data.dev, ...data.test].some((i) => train.has(i.synsetId))).toBe(false);
  });

  it('references answer from WordNet and the prompt carries the system message', () => {
    for (const item of data.train) {
      const s = wn.get(item.synsetId)!;
      expect(item.messages[item.messages.length - 1]!.content).toContain(item.word);
      if (item.task === 'define') expect(item.answers).toEqual([s.definition]);
      if (item.task === 'hypernym') for (const a of item.answers) expect(s.hypernyms.some((h) => wn.get(h)!.words.includes(a))).toBe(true);
      expect(item.messages[0]!.role === 'system').toBe(item.system !== 'none');
      const conv = instructConversation(item);
      expect(conv[conv.length - 1]).toEqual({ role: 'assistant', content: item.reference });
    }
  });

  it('the same seed gives the same data; another seed other data', () => {
    const again = buildWordNetInstruct({ wordnet: wn, limits: { train: 50, dev: 0, test: 0 }, seed: 7 });
    expect(again.train.map((i) => i.reference)).toEqual(data.train.slice(0, 50).map((i) => i.reference));
    const other = buildWordNetInstruct({ wordnet: wn, limits: { train: 50, dev: 0, test: 0 }, seed: 8 });
    expect(other.train.map((i) => i.reference)).not.toEqual(again.train.map((i) => i.reference));
  });

  it('preference pairs: chosen is judged perfect, rejected is wrong or non-compliant', () => {
    const pairs = wordnetPreferencePairs(data.train, 3);
    expect(pairs.length).toBeGreaterThan(500);
    const flaws = { wrong: 0, 'non-compliant': 0 };
    for (const p of pairs) {
      expect(judge(p.item, p.chosen).score).toBe(1);
      const v = judge(p.item, p.rejected);
      if (p.flaw === 'wrong') expect(v.correct).toBe(false);
      else expect(v.compliant).toBe(false);
      flaws[p.flaw]++;
    }
    expect(flaws.wrong).toBeGreaterThan(100);
    expect(flaws['non-compliant']).toBeGreaterThan(100);
    const rec = preferenceRecord(pairs[0]!);
    expect(rec.prompt).toBe(pairs[0]!.item.messages);
    expect(rec.chosen).toEqual([{ role: 'assistant', content: pairs[0]!.chosen }]);
  });
});
