import { formatExample, START, DELIM, EXTRACT } from '../src/finetune/formats';

// A character-level stand-in tokenizer: one id per character, specials at 1000+.
const specials: Record<string, number> = { [START]: 1000, [DELIM]: 1001, [EXTRACT]: 1002 };
const tok = { encode: (t: string) => Array.from(t, (c) => c.charCodeAt(0)), tokenToId: (t: string) => specials[t] };
const enc = tok.encode;

describe('GPT-1 input transformations', () => {
  it('classification: <s> text <e>', () => {
    expect(formatExample({ kind: 'cls', text: 'ab', label: 2 }, tok, { maxLength: 10 })).toEqual({
      sequences: [[1000, ...enc('ab'), 1002]],
      label: 2,
    });
  });
  it('entailment: <s> premise <$> hypothesis <e>', () => {
    const f = formatExample({ kind: 'entail', premise: 'p', hypothesis: 'h', label: 1 }, tok, { maxLength: 10 });
    expect(f.sequences).toEqual([[1000, ...enc('p'), 1001, ...enc(' h'), 1002]]);
  });
  it('similarity: both orders', () => {
    const f = formatExample({ kind: 'sim', a: 'x', b: 'yz', label: 0 }, tok, { maxLength: 10 });
    expect(f.sequences).toEqual([
      [1000, ...enc('x'), 1001, ...enc('yz'), 1002],
      [1000, ...enc('yz'), 1001, ...enc('x'), 1002],
    ]);
  });
  it('multiple choice: one sequence per option', () => {
    const f = formatExample({ kind: 'mc', context: 'c', options: ['a', 'b', 'd'], label: 2 }, tok, { maxLength: 10 });
    expect(f.sequences).toHaveLength(3);
    expect(f.sequences[2]).toEqual([1000, ...enc('c'), 1001, ...enc(' d'), 1002]);
  });
  it('too long: a clear error naming where, or truncation of the longest part', () => {
    expect(() => formatExample({ kind: 'cls', text: 'abcdefgh', label: 0 }, tok, { maxLength: 6, where: 'tasks.jsonl:3' })).toThrow(
      /tasks.jsonl:3: example is 10 tokens, longer than the context of 6/,
    );
    const f = formatExample({ kind: 'entail', premise: 'abcdef', hypothesis: 'g', label: 0 }, tok, { maxLength: 7, truncate: true });
    expect(f.sequences[0]).toHaveLength(7);
    expect(f.sequences[0]![f.sequences[0]!.length - 1]).toBe(1002);
  });
  it('requires the special tokens', () => {
    expect(() =>
      formatExample({ kind: 'cls', text: 'a', label: 0 }, { encode: enc, tokenToId: () => undefined }, { maxLength: 9 }),
    ).toThrow(/special tokens/);
  });
});
