// The addon's adamwUpdate (csrc/train_ops.cc) against its JS twin in src/train-kernels.ts (the fallback for an
// addon built before it): the same bits over several steps, 1 and 2 threads, out aliasing p; bad arguments
// fail naming the argument. (The kernel through tfjs is tested in @gptlab/tensor's test/native.)
import { randomFloat32Array as randomArray } from '@gptlab/common/testing';
import { addonStatus, nativeAddon, setThreads } from '../src';
import { adamwUpdateJs, type TrainAddon } from '../src/train-kernels';

const built = addonStatus().built;
const suite = built ? describe : describe.skip;
if (!built) {
  // eslint-disable-next-line no-console
  console.warn(`SKIPPED: native addon not built (${addonStatus().error})`);
}

suite('adamwUpdate', () => {
  const addon = () => nativeAddon() as unknown as TrainAddon;
  afterAll(() => setThreads(Number(process.env.GPTLAB_THREADS) || require('node:os').availableParallelism?.() || 2));

  test.each([1, 2])('equals the JS update to the bit (%i threads, in place and not)', (threads) => {
    setThreads(threads);
    const n = 100_003;
    for (const inPlace of [false, true]) {
      const p = [randomArray(n, 1, 0.5), randomArray(n, 1, 0.5)];
      const m = [new Float32Array(n), new Float32Array(n)];
      const v = [new Float32Array(n), new Float32Array(n)];
      for (let t = 1; t <= 3; t++) {
        const g = randomArray(n, 20 + t, t === 2 ? 1e-7 : 4);
        const coeff = [0.9, 0.999, 1e-8, 1 - 1e-4 * t, 3e-4 / (1 - 0.9 ** t), 1 / (1 - 0.999 ** t), t === 3 ? 0.5 : 1] as const;
        const out = inPlace ? p.map((x) => x) : [new Float32Array(n), new Float32Array(n)];
        addon().adamwUpdate(p[0]!, g, m[0]!, v[0]!, out[0]!, n, ...coeff);
        adamwUpdateJs(p[1]!, g, m[1]!, v[1]!, out[1]!, n, ...coeff);
        for (const [what, a, b] of [
          ['p', out[0]!, out[1]!],
          ['m', m[0]!, m[1]!],
          ['v', v[0]!, v[1]!],
        ] as const) {
          const i = a.findIndex((x, j) => !Object.is(x, b[j]));
          if (i >= 0) throw new Error(`step ${t}: ${what}[${i}] native ${a[i]}, JS ${b[i]}`);
        }
        p[0] = out[0]!;
        p[1] = out[1]!;
      }
    }
  });

  test('bad arguments fail naming the argument', () => {
    const a = new Float32Array(4);
    const coeff = [0.9, 0.999, 1e-8, 1, 1e-3, 1, 1] as const;
    expect(() => addon().adamwUpdate(a, a, a, new Float32Array(3), a, 4, ...coeff)).toThrow(/adamwUpdate: v has 3 elements, needs 4/);
    expect(() => addon().adamwUpdate(a, [1, 2] as unknown as Float32Array, a, a, a, 2, ...coeff)).toThrow(
      /adamwUpdate: g must be a Float32Array/,
    );
    expect(() => addon().adamwUpdate(a, a, a, a, a, -1, ...coeff)).toThrow(/n must be a non-negative integer/);
  });
});
