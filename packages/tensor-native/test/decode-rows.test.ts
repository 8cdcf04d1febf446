// The R-row decode step (csrc/decode_rows.cc) against the one-row step it batches: every row's logits equal
// NativeDecodeModel.step on that row's own cache, to the bit, with rows at different positions (R = 1, 3, 8 and
// 11, past one group of 8), pre-LN and post-LN, 1 and 2 threads; rows loaded from tfjs's left-padded layout and
// read back; reorder (drop, repeat = copy); the errors for bad tokens, full rows, bfloat16 snapshots, freed rows.
import { randomFloat32Array, randomIds } from '@gptlab/common/testing';
import {
  decodeWeightNames,
  nativeDecodeRowsUnavailable,
  nativeInfo,
  setThreads,
  NativeDecodeModel,
  NativeDecodeRows,
  type DecodeModelShape,
  type NativeDecodeCache,
} from '../src';
import { nativeAddon } from '../src/addon';

const why = nativeDecodeRowsUnavailable();
const suite = why === null ? describe : describe.skip;
// eslint-disable-next-line no-console
if (why !== null) console.warn(`SKIPPED: R-row decode step unavailable (${why})`);

const shapeOf = (postLN: boolean): DecodeModelShape => ({
  nLayer: 2,
  nHead: 4,
  nEmbd: 32,
  vocabSize: 97,
  nPositions: 40,
  layerNormEpsilon: 1e-5,
  postLN,
});

/** Each tensor's element count, by its name's ending. */
function elements(name: string, s: DecodeModelShape): number {
  const C = s.nEmbd;
  if (name.endsWith('wte.weight')) return s.vocabSize * C;
  if (name.endsWith('wpe.weight')) return s.nPositions * C;
  const matrix: [string, number][] = [
    ['c_attn.weight', 3 * C * C],
    ['c_attn.bias', 3 * C],
    ['attn.c_proj.weight', C * C],
  ];
  matrix.push(['c_fc.weight', 4 * C * C], ['c_fc.bias', 4 * C], ['mlp.c_proj.weight', 4 * C * C]);
  return matrix.find(([end]) => name.endsWith(end))?.[1] ?? C;
}

function snapshot(s: DecodeModelShape, weightDtype: 'float32' | 'bfloat16' | 'int8' = 'float32'): NativeDecodeModel {
  const weights = decodeWeightNames(s).map((name, i) => randomFloat32Array(elements(name, s), 31 + i, 0.4));
  return new NativeDecodeModel(s, weights, { weightDtype });
}

/** R rows with prompts of different lengths, fed token by token: as native rows and as one-row caches. */
function rowsAndSingles(m: NativeDecodeModel, R: number): { rows: NativeDecodeRows; singles: NativeDecodeCache[] } {
  const rows = new NativeDecodeRows(m.shape);
  const singles: NativeDecodeCache[] = [];
  for (let r = 0; r < R; r++) {
    const single = m.createCache();
    const prompt = randomIds(1 + ((5 * r) % 13), m.shape.vocabSize, r + 1);
    for (const t of prompt) m.step(single, t);
    const kv = Array.from({ length: m.shape.nLayer }, (_, l) => single.read(l));
    rows.append(
      kv.map((x) => x.keys),
      kv.map((x) => x.values),
      [prompt.length],
      prompt.length,
    );
    singles.push(single);
  }
  return { rows, singles };
}

/** Steps every row `steps` times through both paths; counts logits that differ in any bit. */
function compare(m: NativeDecodeModel, rows: NativeDecodeRows, singles: NativeDecodeCache[], steps: number, seed: number): number {
  const V = m.shape.vocabSize;
  let differ = 0;
  for (let s = 0; s < steps; s++) {
    const tokens = randomIds(singles.length, V, seed + s);
    const got = rows.step(m, tokens);
    singles.forEach((c, r) => {
      const want = m.step(c, tokens[r]!);
      for (let j = 0; j < V; j++) if (!Object.is(want[j], got[r * V + j])) differ++;
    });
  }
  expect(rows.lengths).toEqual(singles.map((c) => c.length));
  return differ;
}

suite('NativeDecodeRows', () => {
  const threads = why === null ? nativeInfo().threads : 1;
  afterAll(() => setThreads(threads));

  test.each([
    [1, false, 1],
    [3, false, 1],
    [8, false, 2],
    [11, false, 2],
    [8, true, 1],
    [3, true, 2],
  ])('%i rows (post-LN %s, %i threads) equal their one-row steps to the bit', (R, postLN, t) => {
    setThreads(t);
    const m = snapshot(shapeOf(postLN));
    const { rows, singles } = rowsAndSingles(m, R);
    expect(rows.lengths).toEqual(singles.map((c) => c.length));
    expect(compare(m, rows, singles, 5, 100 * R)).toBe(0);
    rows.free();
    m.free();
  });

  test('rows load from and read back to the left-padded [B, H, W, D] layout', () => {
    const s = shapeOf(false);
    const D = s.nEmbd / s.nHead;
    const lens = [3, 7, 1];
    const W = 9;
    const padded = (seed: number) => {
      const a = randomFloat32Array(lens.length * s.nHead * W * D, seed);
      lens.forEach((n, b) => {
        for (let h = 0; h < s.nHead; h++) a.fill(0, (b * s.nHead + h) * W * D, ((b * s.nHead + h) * W + W - n) * D);
      });
      return a;
    };
    const keys = [padded(1), padded(2)];
    const values = [padded(3), padded(4)];
    const rows = new NativeDecodeRows(s);
    rows.append(keys, values, lens, W);
    expect(rows.lengths).toEqual(lens);
    for (let l = 0; l < s.nLayer; l++) {
      const back = rows.read(l, W);
      expect(back.keys).toEqual(keys[l]);
      expect(back.values).toEqual(values[l]);
    }
    // a narrower read is each row's own positions, still right-aligned
    expect(
      Array.from(rows.read(0, 7).keys.subarray(0, s.nHead * 7 * D))
        .slice(0, 4 * D)
        .every((x) => x === 0),
    ).toBe(true);
    rows.free();
  });

  test('reorder drops rows and copies repeated ones; each copy then decodes on its own', () => {
    const m = snapshot(shapeOf(false));
    const { rows, singles } = rowsAndSingles(m, 3);
    const order = [2, 0, 2, 2];
    rows.reorder(order);
    expect(rows.rows).toBe(4);
    // the one-row side: copies of the same singles (a cache read and loaded again)
    const copies = order.map((r) => {
      const c = m.createCache();
      const kv = Array.from({ length: m.shape.nLayer }, (_, l) => singles[r]!.read(l));
      c.load(
        kv.map((x) => x.keys),
        kv.map((x) => x.values),
        singles[r]!.length,
      );
      return c;
    });
    expect(compare(m, rows, copies, 4, 7)).toBe(0);
    rows.reorder([]);
    expect(rows.rows).toBe(0);
    expect(() => rows.reorder([0])).toThrow('row 0 is outside [0, 0)');
    rows.free();
    m.free();
  });

  test('errors: tokens, full rows, bfloat16 snapshots, freed rows', () => {
    const s = shapeOf(false);
    const m = snapshot(s);
    const rows = new NativeDecodeRows(s);
    const kv = [new Float32Array(s.nEmbd * (s.nPositions - 1)), new Float32Array(s.nEmbd * (s.nPositions - 1))];
    rows.append(kv, kv, [s.nPositions - 1], s.nPositions - 1);
    expect(() => rows.step(m, [97])).toThrow('token 97 of row 0 is outside the vocabulary [0, 97)');
    expect(() => rows.step(m, [1, 2])).toThrow('got 2 tokens for 1 rows');
    rows.step(m, [1]);
    expect(() => rows.step(m, [1])).toThrow('row 0 already holds nPositions = 40 positions');
    const bf16 = snapshot(s, 'bfloat16');
    expect(() => rows.step(bf16, [1])).toThrow('float32 weight snapshots only (this one holds bfloat16)');
    // the addon's own guard, for a caller that skips that check: bfloat16 and int8 snapshots alike
    const short = new NativeDecodeRows(s);
    const one = [new Float32Array(s.nEmbd), new Float32Array(s.nEmbd)];
    short.append(one, one, [1], 1);
    const raw = nativeAddon() as unknown as { decodeRowsStep(...args: unknown[]): void };
    const handles = (short as unknown as { caches: unknown[] }).caches;
    const q8 = snapshot(s, 'int8');
    for (const q of [bf16, q8]) {
      const handle = (q as unknown as { live(): unknown }).live();
      const call = () => raw.decodeRowsStep(handle, handles, new Int32Array([1]), new Float32Array(s.vocabSize));
      expect(call).toThrow('decodeRowsStep: decode rows: float32 weight snapshots only');
    }
    short.free();
    q8.free();
    rows.free();
    expect(() => rows.step(m, [1])).toThrow('the rows were freed');
    bf16.free();
    m.free();
  });
});
