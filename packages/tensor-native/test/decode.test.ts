// The native decode step against a float64 GPT written out here (pre-LN GPT-2 and post-LN GPT-1 blocks): logits at
// every position, the cache's load/read/truncate, every instruction set, 1 vs 2 threads to the bit, long caches
// (attention split over heads), and the errors for bad handles, tokens and weights.
import { maxAbsDiff, randomFloat32Array } from '@gptlab/common/testing';
import {
  addonStatus,
  decodeWeightNames,
  nativeDecodeUnavailable,
  nativeInfo,
  setIsa,
  setThreads,
  NativeDecodeModel,
  type DecodeModelShape,
} from '../src';

const available = addonStatus().built && nativeDecodeUnavailable() === null;
const suite = available ? describe : describe.skip;
if (!available) {
  // eslint-disable-next-line no-console
  console.warn(`SKIPPED: native decode step unavailable (${addonStatus().error ?? nativeDecodeUnavailable()})`);
}

/** Random weights (LayerNorm gains around 1) in decodeWeightNames order. */
function randomWeights(s: DecodeModelShape, seed: number): Float32Array[] {
  const C = s.nEmbd;
  const size: Record<string, number> = { 'c_attn.weight': C * 3 * C, 'c_attn.bias': 3 * C, 'c_fc.weight': C * 4 * C, 'c_fc.bias': 4 * C };
  size['attn.c_proj.weight'] = C * C;
  size['mlp.c_proj.weight'] = 4 * C * C;
  return decodeWeightNames(s).map((name, i) => {
    const key = Object.keys(size).find((k) => name.endsWith(k));
    const n = name.endsWith('wte.weight') ? s.vocabSize * C : name.endsWith('wpe.weight') ? s.nPositions * C : key ? size[key]! : C;
    const w = randomFloat32Array(n, seed * 101 + i, 0.3);
    if (/ln_\w+\.weight$/.test(name)) for (let j = 0; j < n; j++) w[j] = 1 + w[j]! / 3;
    return w;
  });
}

/** A float64 GPT decoder over the same weights: step(token) → logits; keys/values per layer as [t][C]. */
class Float64Decoder {
  readonly keys: number[][][];
  readonly values: number[][][];
  constructor(
    private readonly s: DecodeModelShape,
    private readonly w: Float32Array[],
  ) {
    this.keys = Array.from({ length: s.nLayer }, () => []);
    this.values = Array.from({ length: s.nLayer }, () => []);
  }
  private ln(x: number[], g: Float32Array, b: Float32Array): number[] {
    const mean = x.reduce((a, v) => a + v, 0) / x.length;
    const v = x.reduce((a, u) => a + (u - mean) ** 2, 0) / x.length;
    return x.map((u, j) => ((u - mean) / Math.sqrt(v + this.s.layerNormEpsilon)) * g[j]! + b[j]!);
  }
  private linear(x: number[], W: Float32Array, b: Float32Array, n: number): number[] {
    return Array.from({ length: n }, (_, j) => x.reduce((a, u, k) => a + u * W[k * n + j]!, b[j]!));
  }
  step(token: number): number[] {
    const { nEmbd: C, nHead: H, vocabSize: V, postLN } = this.s;
    const D = C / H;
    const pos = this.keys[0]!.length;
    let x = Array.from({ length: C }, (_, j) => this.w[0]![token * C + j]! + this.w[1]![pos * C + j]!);
    for (let l = 0; l < this.s.nLayer; l++) {
      const w = this.w.slice(2 + 12 * l, 14 + 12 * l);
      const qkv = this.linear(postLN ? x : this.ln(x, w[0]!, w[1]!), w[2]!, w[3]!, 3 * C);
      this.keys[l]!.push(qkv.slice(C, 2 * C));
      this.values[l]!.push(qkv.slice(2 * C));
      const att: number[] = [];
      for (let h = 0; h < H; h++) {
        const s = this.keys[l]!.map((k) => k.slice(h * D, (h + 1) * D).reduce((a, u, d) => a + u * qkv[h * D + d]!, 0) / Math.sqrt(D));
        const m = Math.max(...s);
        const e = s.map((u) => Math.exp(u - m));
        const z = e.reduce((a, u) => a + u, 0);
        for (let d = 0; d < D; d++) att.push(this.values[l]!.reduce((a, v, t) => a + (e[t]! / z) * v[h * D + d]!, 0));
      }
      const proj = this.linear(att, w[4]!, w[5]!, C);
      x = x.map((u, j) => u + proj[j]!);
      if (postLN) x = this.ln(x, w[0]!, w[1]!);
      const f = this.linear(postLN ? x : this.ln(x, w[6]!, w[7]!), w[8]!, w[9]!, 4 * C).map(
        (u) => 0.5 * u * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (u + 0.044715 * u ** 3))),
      );
      const out = this.linear(f, w[10]!, w[11]!, C);
      x = x.map((u, j) => u + out[j]!);
      if (postLN) x = this.ln(x, w[6]!, w[7]!);
    }
    if (!postLN) x = this.ln(x, this.w[this.w.length - 2]!, this.w[this.w.length - 1]!);
    return Array.from({ length: V }, (_, v) => x.reduce((a, u, k) => a + u * this.w[0]![v * C + k]!, 0));
  }
}

const shape = (over: Partial<DecodeModelShape> = {}): DecodeModelShape => ({
  nLayer: 2,
  nHead: 4,
  nEmbd: 192,
  vocabSize: 600,
  nPositions: 24,
  layerNormEpsilon: 1e-5,
  postLN: false,
  ...over,
});

suite('native decode step', () => {
  const threads = available ? nativeInfo().threads : 1;
  afterAll(() => setThreads(threads));

  for (const postLN of [false, true]) {
    it(`matches a float64 ${postLN ? 'post-LN (GPT-1)' : 'pre-LN (GPT-2)'} decoder at every position`, () => {
      const s = shape({ postLN });
      const w = randomWeights(s, postLN ? 2 : 1);
      const model = new NativeDecodeModel(s, w);
      const cache = model.createCache();
      const ref = new Float64Decoder(s, w);
      let worst = 0;
      for (let i = 0; i < 12; i++) {
        const token = (i * 37 + 5) % s.vocabSize;
        worst = Math.max(worst, maxAbsDiff(model.step(cache, token), ref.step(token)));
      }
      expect(cache.length).toBe(12);
      expect(worst).toBeLessThan(2e-4);
      cache.free();
      model.free();
    });
  }

  it('with bfloat16 weights matches the float64 decoder over the same weights rounded to bfloat16', () => {
    const s = shape();
    const w = randomWeights(s, 7);
    // round to nearest even, as the addon does; LayerNorms, biases and wpe stay float32
    const matrices = new Set([0, ...Array.from({ length: s.nLayer }, (_, l) => [4, 6, 10, 12].map((i) => i + 12 * l)).flat()]);
    const rounded = w.map((a, i) => {
      if (!matrices.has(i)) return a;
      const u = new Uint32Array(Float32Array.from(a).buffer);
      for (let j = 0; j < u.length; j++) u[j] = ((u[j]! + 0x7fff + ((u[j]! >>> 16) & 1)) >>> 16) << 16;
      return new Float32Array(u.buffer);
    });
    const model = new NativeDecodeModel(s, w, { weightDtype: 'bfloat16' });
    const exact = new NativeDecodeModel(s, w);
    const cache = model.createCache();
    const cache32 = exact.createCache();
    const ref = new Float64Decoder(s, rounded);
    let worst = 0;
    let drift = 0;
    for (const token of [9, 99, 599, 0, 42]) {
      const got = model.step(cache, token);
      worst = Math.max(worst, maxAbsDiff(got, ref.step(token)));
      drift = Math.max(drift, maxAbsDiff(got, exact.step(cache32, token)));
    }
    expect(worst).toBeLessThan(2e-4);
    expect(drift).toBeGreaterThan(1e-4); // the rounding is really there
    expect(() => new NativeDecodeModel(s, w, { weightDtype: 'int4' as never })).toThrow(/weightDtype must be 'float32' or 'bfloat16'/);
    model.free();
    exact.free();
  });

  it('gives the same bits on 1 and 2 threads, and close logits on every instruction set', () => {
    const s = shape();
    const model = new NativeDecodeModel(s, randomWeights(s, 3));
    const run = () => {
      const cache = model.createCache();
      const out = [3, 1, 4, 1, 5, 9].map((t) => model.step(cache, t));
      cache.free();
      return out;
    };
    setThreads(1);
    const one = run();
    setThreads(2);
    const two = run();
    expect(two.every((l, i) => maxAbsDiff(l, one[i]!) === 0)).toBe(true);
    const isa = nativeInfo().isa;
    for (const name of nativeInfo().isas) {
      setIsa(name);
      const other = run();
      expect(Math.max(...other.map((l, i) => maxAbsDiff(l, one[i]!)))).toBeLessThan(1e-4);
    }
    setIsa(isa);
    model.free();
  });

  it('loads, reads and truncates the cache (tfjs layout [1, H, T, D]); a long cache splits attention over heads', () => {
    const s = shape({ nEmbd: 64, nHead: 4, vocabSize: 50, nPositions: 1100 });
    const w = randomWeights(s, 4);
    const model = new NativeDecodeModel(s, w);
    const cache = model.createCache();
    const T = 1030; // T·C ≥ 65536: heads run in parallel
    const D = s.nEmbd / s.nHead;
    const keys = [0, 1].map((l) => randomFloat32Array(T * s.nEmbd, 10 + l));
    const values = [0, 1].map((l) => randomFloat32Array(T * s.nEmbd, 20 + l));
    cache.load(keys, values, T);
    expect(cache.length).toBe(T);
    const back = cache.read(1);
    expect(maxAbsDiff(back.keys, keys[1]!)).toBe(0);
    expect(maxAbsDiff(back.values, values[1]!)).toBe(0);
    // the reference holds the same past, as [t][C]
    const ref = new Float64Decoder(s, w);
    for (let l = 0; l < 2; l++)
      for (let t = 0; t < T; t++) {
        const row = (a: Float32Array) => Array.from({ length: s.nEmbd }, (_, j) => a[(Math.floor(j / D) * T + t) * D + (j % D)]!);
        ref.keys[l]!.push(row(keys[l]!));
        ref.values[l]!.push(row(values[l]!));
      }
    const first = model.step(cache, 7);
    expect(maxAbsDiff(first, ref.step(7))).toBeLessThan(2e-4);
    cache.truncate(T);
    expect(maxAbsDiff(model.step(cache, 7), first)).toBe(0);
    expect(() => cache.truncate(T + 5)).toThrow(/exceeds the cached/);
    cache.free();
    model.free();
  });

  it('refuses bad tokens, full caches, wrong weights and freed handles with a clear message', () => {
    const s = shape({ nPositions: 2 });
    const w = randomWeights(s, 5);
    expect(() => new NativeDecodeModel(s, w.slice(1))).toThrow(/weights has \d+ tensors, expected \d+/);
    expect(() => new NativeDecodeModel(s, [w[0]!.subarray(1), ...w.slice(1)])).toThrow(/weights\[0\] has \d+ elements, expected \d+/);
    const model = new NativeDecodeModel(s, w);
    const cache = model.createCache();
    expect(() => model.step(cache, s.vocabSize)).toThrow(/token 600 is outside the vocabulary \[0, 600\)/);
    model.step(cache, 1);
    model.step(cache, 2);
    expect(() => model.step(cache, 3)).toThrow(/already holds nPositions = 2/);
    cache.free();
    expect(() => model.step(cache, 1)).toThrow(/the cache was freed/);
    const other = new NativeDecodeModel(shape({ nLayer: 1 }), randomWeights(shape({ nLayer: 1 }), 6));
    expect(() => other.step(model.createCache(), 1)).toThrow(/another shape/);
    model.free();
    expect(() => model.createCache()).toThrow(/the model was freed/);
    other.free();
  });
});
