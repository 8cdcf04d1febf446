import {
  arraySource,
  collect,
  normalizeStage,
  normalizeText,
  filterStage,
  checkText,
  exactDedupStage,
  pipe,
  DEFAULT_FILTERS,
  GOPHER_FILTERS,
  createStage,
  type DuplicateRecord,
} from '../src';

describe('normalize', () => {
  it('applies NFC, removes control characters, collapses whitespace', () => {
    const r = normalizeText('  Cafe\u0301\u0000 \t bar\u00A0\u00A0baz \r\n\r\n\r\n\r\nnext\u200B line  ');
    expect(r.text).toBe('Café bar baz\n\nnext line');
    expect(r.controlRemoved).toBe(2);
  });
  it('counts invalid UTF-8 reported by sources and drops empty documents', async () => {
    const st = normalizeStage();
    const out = await collect(
      st.run(
        arraySource([
          { id: 'a', text: 'x\uFFFDy', meta: { invalidUtf8: 1 } },
          { id: 'b', text: ' \u0007 \n ' },
          { id: 'c', text: 'ok' },
        ]),
      ),
    );
    expect(out.map((d) => d.id)).toEqual(['a', 'c']);
    expect(st.stats.extra.invalidUtf8Sequences).toBe(1);
    expect(st.stats.extra.docsWithInvalidUtf8).toBe(1);
    expect(st.stats.dropped).toEqual({ empty: 1 });
    expect(st.stats.docsIn).toBe(3);
    expect(st.stats.docsOut).toBe(2);
    expect(st.stats.examples.empty![0]!.id).toBe('b');
  });
});

describe('heuristic filters', () => {
  const good = 'a large natural stream of water that flows into an ocean or a lake';
  it('keeps ordinary prose and short glosses', () => {
    expect(checkText(good).keep).toBe(true);
    expect(checkText('departing hastily').keep).toBe(true);
  });
  it.each([
    ['x', 'too_short_chars'],
    ['wordy', 'too_short_chars'],
    ['# ## ### #### ##### ######', 'symbol_word_ratio'],
    ['1234 5678 91011 121314 151617 1819', 'digit_ratio'],
    ['$$$$ %%%% ^^^^ @@@@ and things', 'symbol_char_ratio'],
    ['-- -- -- -- -- -- hello', 'alpha_word_ratio'],
    ['supercalifragilistic antidisestablishmentarianism pneumonoultramicroscopic', 'mean_word_length_high'],
    ['a b c d e f g h i j', 'mean_word_length_low'],
    ['the same line here\nthe same line here\nthe same line here\nanother line', 'repeated_lines'],
    [
      '- apples and pears and plums and figs\n- apples and pears and plums and dates\n- apples and pears and plums and limes',
      'bullet_line_ratio',
    ],
    [
      'we waited for the long and slow train to come around the bend and then...\nthe long train finally arrived at the small station in the hills and then...\nsomething else happened',
      'ellipsis_line_ratio',
    ],
  ])('drops %j for %s', (text, reason) => {
    expect(checkText(text)).toMatchObject({ keep: false, reason });
  });
  it('Gopher thresholds need 50 words and 2 stop words', () => {
    expect(checkText(good, GOPHER_FILTERS)).toMatchObject({ keep: false, reason: 'too_few_words' });
    const long = Array.from({ length: 60 }, (_, i) => `word${i % 7}x`).join(' ');
    expect(checkText(long, GOPHER_FILTERS)).toMatchObject({ keep: false, reason: 'too_few_stop_words' });
    expect(checkText(long + ' the and', GOPHER_FILTERS).keep).toBe(true);
  });
  it('rules are configurable per field', async () => {
    const st = filterStage({ minWords: 20 });
    const out = await collect(st.run(arraySource([good, good + ' ' + good])));
    expect(out).toHaveLength(1);
    expect(st.stats.dropped).toEqual({ too_few_words: 1 });
    expect(DEFAULT_FILTERS.minWords).toBe(2);
  });
});

describe('exact dedup', () => {
  it('keeps the first copy and names the original', async () => {
    const dups: DuplicateRecord[] = [];
    const st = exactDedupStage({ onDuplicate: (d) => dups.push(d) });
    const out = await collect(
      st.run(
        arraySource([
          { id: '1', text: 'alpha beta' },
          { id: '2', text: 'gamma' },
          { id: '3', text: 'alpha beta' },
          { id: '4', text: 'Alpha beta' },
        ]),
      ),
    );
    expect(out.map((d) => d.id)).toEqual(['1', '2', '4']);
    expect(dups).toEqual([{ id: '3', duplicateOf: '1', kind: 'exact' }]);
    expect(st.stats.dropped).toEqual({ exact_duplicate: 1 });
  });
});

describe('stage bookkeeping', () => {
  it('docsIn = docsOut + dropped and bytes are UTF-8 bytes', async () => {
    const a = normalizeStage();
    const b = filterStage();
    const c = exactDedupStage();
    const docs = ['héllo wörld here', 'x', 'héllo wörld here', '  ', 'another fine sentence'];
    await collect(pipe(arraySource(docs), a, b, c));
    for (const s of [a, b, c]) {
      const dropped = Object.values(s.stats.dropped).reduce((x, y) => x + y, 0);
      expect(s.stats.docsIn).toBe(s.stats.docsOut + dropped);
      expect(s.stats.timeMs).toBeGreaterThanOrEqual(0);
    }
    expect(a.stats.bytesIn).toBe(docs.reduce((n, d) => n + Buffer.byteLength(d), 0));
    expect(c.stats.docsOut).toBe(2);
  });
  it('propagates errors from upstream', async () => {
    const boom = createStage('boom', async function* (input) {
      for await (const d of input) {
        if (d.id === 'arr:1') throw new Error('bad doc arr:1');
        yield d;
      }
    });
    await expect(collect(pipe(arraySource(['a', 'b', 'c'], 'arr'), boom, filterStage()))).rejects.toThrow('bad doc arr:1');
  });
});
