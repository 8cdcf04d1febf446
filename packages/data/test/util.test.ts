import { Readable } from 'node:stream';
import { Rng } from '@gptlab/common';
import { decodeUtf8 } from '../src';
import { readLines } from '../src/util';

describe('decodeUtf8', () => {
  it('passes valid UTF-8 through and counts nothing', () => {
    const r = decodeUtf8(Buffer.from('héllo – wörld \uFFFD', 'utf8'));
    expect(r).toEqual({ text: 'héllo – wörld \uFFFD', invalid: 0 });
  });
  it('replaces and counts invalid sequences, not genuine U+FFFD', () => {
    const buf = Buffer.concat([
      Buffer.from('a'),
      Buffer.from([0xff]),
      Buffer.from('b'),
      Buffer.from([0xc3]),
      Buffer.from('c\uFFFD', 'utf8'),
    ]);
    const r = decodeUtf8(buf);
    expect(r.text).toBe('a\uFFFDb\uFFFDc\uFFFD');
    expect(r.invalid).toBe(2);
  });
});

describe('readLines', () => {
  it('splits across chunk boundaries, strips CR, numbers lines', async () => {
    const chunks = [Buffer.from('ab'), Buffer.from('c\r\nde'), Buffer.from('f\n\ng'), Buffer.from('h')];
    const out: [string, number][] = [];
    for await (const { line, lineNo } of readLines(Readable.from(chunks))) out.push([line.toString(), lineNo]);
    expect(out).toEqual([
      ['abc', 1],
      ['def', 2],
      ['', 3],
      ['gh', 4],
    ]);
  });
});

describe("the quality stage's GPT-3 keep rule on @gptlab/common's Rng", () => {
  it('pareto(9) > 1 - s keeps a document of score s with probability (2 - s)^-9', () => {
    const rng = new Rng(11);
    const n = 200000;
    for (const s of [0.5, 0.9]) {
      let keep = 0;
      for (let i = 0; i < n; i++) if (rng.pareto(9) > 1 - s) keep++;
      const p = Math.pow(2 - s, -9);
      const sd = Math.sqrt((p * (1 - p)) / n);
      expect(Math.abs(keep / n - p)).toBeLessThan(5 * sd);
    }
  });
});
