import { generate, stream, type GenerateResult, type StreamEvent } from '../src';
import { byteTokenizer, scriptedModel } from './helpers/fake';

// Byte-level vocabulary: 0..255 bytes, 256 = EOS, 257 = [0x48 'H', 0xC3] and 258 = [0xA9, 0x6C 'l'] (a token
// boundary inside 'é', as GPT-2's byte-level BPE can produce), 259 = '\n\n'.
const EOS = 256;
const extras: (string | number[])[] = ['', [0x48, 0xc3], [0xa9, 0x6c], '\n\n'];
const TEXT = 'Héllo, wörld! € 😀 ok';

function tokensFor(text: string): number[] {
  const bytes = Array.from(new TextEncoder().encode(text));
  const out: number[] = [];
  for (let i = 0; i < bytes.length; ) {
    if (bytes[i] === 0x48 && bytes[i + 1] === 0xc3) {
      out.push(257);
      i += 2;
    } else if (bytes[i] === 0xa9 && bytes[i + 1] === 0x6c) {
      out.push(258);
      i += 2;
    } else if (bytes[i] === 10 && bytes[i + 1] === 10) {
      out.push(259);
      i += 2;
    } else out.push(bytes[i++]);
  }
  return out;
}

/** A model that greedily spells `script` after the prompt, then EOS. */
function spell(script: number[], promptLength: number) {
  return scriptedModel(260, (prefix) => script[prefix.length - promptLength] ?? EOS);
}

async function collect(it: AsyncGenerator<StreamEvent, GenerateResult>) {
  const events: StreamEvent[] = [];
  for (;;) {
    const r = await it.next();
    if (r.done) return { events, result: r.value };
    events.push(r.value);
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

describe.each([
  { mode: 'decodeBytes', withBytes: true },
  { mode: 'decode only', withBytes: false },
])('streaming ($mode)', ({ withBytes }) => {
  const tok = byteTokenizer(extras, withBytes);
  const script = tokensFor(TEXT);
  // the script really splits characters across tokens
  expect(script).toContain(257);
  expect(script.length).toBeGreaterThan(new TextEncoder().encode(TEXT).length / 2);

  test('deltas never split a UTF-8 character and concatenate to the final text', async () => {
    const m = spell(script, 1);
    const { events, result } = await collect(stream(m, [65], { maxNewTokens: 100, eosTokenId: EOS, tokenizer: tok }));
    expect(events.map((e) => e.token)).toEqual([...script, EOS]);
    for (const e of events) {
      expect(e.text).not.toContain('\uFFFD');
      expect(LONE_SURROGATE.test(e.text)).toBe(false);
    }
    expect(events.map((e) => e.text).join('')).toBe(TEXT);
    // a character is emitted by the token that completes it: token 257 = 'H' + first byte of 'é'
    const i257 = script.indexOf(257);
    expect(events[i257].text).toBe('H');
    expect(events[i257 + 1].text).toBe('él');
    const euro = new TextEncoder().encode('€');
    const iEuro = script.indexOf(euro[0]);
    expect(events.slice(iEuro, iEuro + 3).map((e) => e.text)).toEqual(['', '', '€']);
    expect(result.text).toBe(TEXT);
    expect(result.finishReason).toBe('eos');
    expect(result.ids).toEqual([...script, EOS]);
    expect(m.stats.open).toBe(0);
  });

  test('stop strings: trimmed from text, held back while they might still match', async () => {
    const m = spell(script, 1);
    const { events, result } = await collect(
      stream(m, [65], { maxNewTokens: 100, eosTokenId: EOS, tokenizer: tok, stopStrings: ['ld!', 'zzz'] }),
    );
    expect(result.finishReason).toBe('stop');
    expect(result.text).toBe('Héllo, wör');
    expect(events.map((e) => e.text).join('')).toBe('Héllo, wör');
    // tokens up to the one that completed the stop string are returned
    const upTo = script.indexOf('!'.charCodeAt(0));
    expect(result.ids).toEqual(script.slice(0, upTo + 1));
    expect(events).toHaveLength(upTo + 1);
    // 'l' of "ld!" was generated before the match but never emitted
    expect(events.some((e) => e.text.includes('l') && e.text.includes('ö'))).toBe(false);
    expect(result.logprobs).toHaveLength(result.ids.length);
  });

  test('stop string spanning a token that splits a character', async () => {
    const m = spell(script, 1);
    const r = (await generate(m, [65], { maxNewTokens: 100, tokenizer: tok, stopStrings: ['él'] })) as GenerateResult;
    expect(r.text).toBe('H');
    expect(r.finishReason).toBe('stop');
    expect(r.ids).toEqual(script.slice(0, script.indexOf(258) + 1));
  });

  test('length cut inside a character flushes what is there at the end', async () => {
    const m = spell(script, 1);
    const n = script.indexOf(new TextEncoder().encode('€')[0]) + 2; // stop after two of the three euro bytes
    const { events, result } = await collect(stream(m, [65], { maxNewTokens: n, tokenizer: tok }));
    expect(result.finishReason).toBe('length');
    expect(events.map((e) => e.text).join('')).toBe(result.text);
    expect(result.text.startsWith('Héllo, wörld! ')).toBe(true);
  });
});

describe('stop strings with other searches', () => {
  const tok = byteTokenizer(extras);
  const script = tokensFor('one\n\ntwo');
  test('greedy: multi-byte token containing the stop string', async () => {
    const m = spell(script, 1);
    const r = (await generate(m, [65], { maxNewTokens: 50, tokenizer: tok, stopStrings: ['\n\n'] })) as GenerateResult;
    expect(r).toMatchObject({ text: 'one', finishReason: 'stop', ids: tokensFor('one\n\n') });
  });
  test('beam: a candidate completing a stop string becomes a finished hypothesis', async () => {
    const m = spell(script, 1);
    const r = (await generate(m, [65], {
      type: 'beam',
      numBeams: 2,
      maxNewTokens: 50,
      tokenizer: tok,
      stopStrings: ['\n\n'],
    })) as GenerateResult;
    expect(r).toMatchObject({ text: 'one', finishReason: 'stop', ids: tokensFor('one\n\n') });
  });
  test('EOS is returned in ids but not decoded into text', async () => {
    const m = spell(tokensFor('hi'), 1);
    const r = (await generate(m, [65], { maxNewTokens: 50, tokenizer: tok, eosTokenId: EOS })) as GenerateResult;
    expect(r).toMatchObject({ text: 'hi', finishReason: 'eos', ids: [104, 105, EOS] });
  });
  test('stopping a stream early releases the model session', async () => {
    const m = spell(script, 1);
    let n = 0;
    for await (const e of stream(m, [65], { maxNewTokens: 50, tokenizer: tok })) {
      expect(typeof e.logprob).toBe('number');
      if (++n === 3) break;
    }
    expect(m.stats.open).toBe(0);
  });
  test('stream rejects beam search', async () => {
    const m = spell(script, 1);
    await expect(stream(m, [65], { type: 'beam', numBeams: 2 }).next()).rejects.toThrow(/streaming.*greedy.*sample/);
  });
});
