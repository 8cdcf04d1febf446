import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { SlotReducer, abortReduce, createReduceBuffers, reduceRange, type RangeUpdate } from '../src/train/parallel-reduce';
import { adamwElements, type FlatParam } from '../src/train/adamw';
import { clipScale } from '../src/train/clip';

const req = createRequire(__filename);
const reduceModule = path.join(__dirname, '..', 'src', 'train', 'parallel-reduce.ts');

/** A worker thread running `body` with the reduce module loaded (TypeScript through tsx). */
function thread(body: string, workerData: unknown): Worker {
  const code = `require(${JSON.stringify(req.resolve('tsx/cjs/api'))}).register();
const m = require(${JSON.stringify(reduceModule)});
const { workerData, parentPort } = require('node:worker_threads');
${body}`;
  return new Worker(code, { eval: true, workerData });
}

function exited(w: Worker): Promise<number> {
  return new Promise((resolve, reject) => {
    w.once('error', reject);
    w.once('exit', resolve);
  });
}

describe('the workers all-reduce (parallel-reduce.ts)', () => {
  test('the ranges cover every value once, on 16-float boundaries', () => {
    for (const total of [0, 1, 15, 16, 17, 1000, 5_289_472]) {
      for (let parties = 1; parties <= 4; parties++) {
        let next = 0;
        for (let i = 0; i < parties; i++) {
          const { start, end } = reduceRange(i, parties, total);
          expect(start).toBe(next);
          expect(end).toBeGreaterThanOrEqual(start);
          if (start < total) expect(start % 16).toBe(0);
          next = end;
        }
        expect(next).toBe(total);
      }
    }
  });

  test('two threads average the active slots (in order) and return the squared norm of their ranges', async () => {
    const total = 1001;
    const grads = new SharedArrayBuffer(3 * total * 4);
    const slots = new Float32Array(grads);
    for (let j = 0; j < slots.length; j++) slots[j] = Math.sin(j * 0.37) * (1 + (j % 7));
    // One, two (slot 1 not active) and three slots: each element summed in float32, in worker order.
    for (const active of [[1], [0, 2], [0, 1, 2]]) {
      const inv = 1 / (2 * active.length);
      const bufs = createReduceBuffers(total, 2);
      // The other thread reduces range 1; it posts its squared norm.
      const w = thread(
        `const r = new m.SlotReducer(workerData.bufs, workerData.grads, 1, workerData.total);
parentPort.postMessage(r.reduce(workerData.active, 2, workerData.inv));`,
        { bufs, grads, total, active, inv },
      );
      const theirs = new Promise<number>((resolve) => w.once('message', resolve));
      const mine = new SlotReducer(bufs, grads, 0, total).reduce(active, 2, inv);
      const sumSquares = mine + (await theirs);
      await exited(w);
      const mean = new Float32Array(bufs.mean);
      const acc = new Float32Array(1);
      let expected = 0;
      for (let j = 0; j < total; j++) {
        acc[0] = 0;
        for (const k of active) acc[0] += slots[k * total + j]!;
        // The norm uses the unrounded product, as the main thread's pass did before.
        const g = acc[0]! * inv;
        expect(mean[j]).toBe(Math.fround(g));
        expected += g * g;
      }
      expect(sumSquares).toBeCloseTo(expected, 9);
    }
  }, 60000);

  test('reduceAndUpdate: two threads run AdamW on their ranges as one pass over all values would (clip from both norms)', async () => {
    const total = 1000;
    // Three parameters, the middle one across the two ranges (512 | 488), only the first decays.
    const layout: FlatParam[] = [
      { name: 'a', shape: [10, 30], offset: 0, size: 300 },
      { name: 'b', shape: [400], offset: 300, size: 400 },
      { name: 'c', shape: [300], offset: 700, size: 300 },
    ];
    const keeps = [1 - 0.1 * 0.01, 1, 1];
    const coefficients = { beta1: 0.9, beta2: 0.95, eps: 1e-8, stepSize: 0.1 / (1 - 0.9 ** 3), invBc2: 1 / (1 - 0.95 ** 3) };
    const shared = (f: (j: number) => number) => {
      const a = new Float32Array(new SharedArrayBuffer(total * 4));
      for (let j = 0; j < total; j++) a[j] = f(j);
      return a;
    };
    for (const lossSum of [3.5, NaN]) {
      const grads = new SharedArrayBuffer(2 * total * 4);
      const slots = new Float32Array(grads);
      for (let j = 0; j < slots.length; j++) slots[j] = Math.cos(j * 0.11) * 3;
      const [params, m, v] = [shared((j) => Math.sin(j)), shared((j) => 0.01 * Math.cos(j)), shared((j) => 0.001 * (1 + Math.sin(j)))];
      const expected = { p: params.slice(), m: m.slice(), v: v.slice() };
      const bufs = createReduceBuffers(total, 2);
      const u = { layout, keeps, coefficients, clip: 1 };
      const w = thread(
        `const d = workerData;
const u = { ...d.u, params: new Float32Array(d.params), m: new Float32Array(d.m), v: new Float32Array(d.v) };
parentPort.postMessage(new m.SlotReducer(d.bufs, d.grads, 1, d.total).reduceAndUpdate([0, 1], 2, 0.5, 1, u));`,
        { bufs, grads, total, u, params: params.buffer, m: m.buffer, v: v.buffer },
      );
      const theirs = new Promise<{ sumSquares: number; updated: boolean }>((resolve) => w.once('message', resolve));
      const range: RangeUpdate = { ...u, params, m, v };
      const mine = new SlotReducer(bufs, grads, 0, total).reduceAndUpdate([0, 1], 2, 0.5, lossSum, range);
      const other = await theirs;
      await exited(w);
      expect(mine.updated).toBe(Number.isFinite(lossSum));
      expect(other.updated).toBe(mine.updated);
      // The reference: the mean gradient over all values, one clipping scale, AdamW per parameter.
      const mean = new Float32Array(bufs.mean);
      const scale = clipScale(Math.sqrt(0 + mine.sumSquares + other.sumSquares), 1);
      expect(scale).toBeLessThan(1);
      if (mine.updated) {
        layout.forEach((l, i) => {
          const at = (a: Float32Array) => a.subarray(l.offset, l.offset + l.size);
          const c = { ...coefficients, keep: keeps[i]!, gradScale: scale };
          adamwElements(at(expected.p), at(expected.p), at(expected.m), at(expected.v), at(mean), c);
        });
      }
      expect(Array.from(params)).toEqual(Array.from(expected.p));
      expect(Array.from(m)).toEqual(Array.from(expected.m));
      expect(Array.from(v)).toEqual(Array.from(expected.v));
    }
  }, 60000);

  test('a worker that fails releases the others from the barrier (an error, not a hang)', async () => {
    const total = 64;
    const grads = new SharedArrayBuffer(2 * total * 4);
    const bufs = createReduceBuffers(total, 2);
    const w = thread(`setTimeout(() => m.abortReduce(workerData.bufs), 200);`, { bufs });
    const t0 = performance.now();
    expect(() => new SlotReducer(bufs, grads, 0, total).reduce([0, 1], 2, 0.5)).toThrow(/another gradient worker failed/);
    expect(performance.now() - t0).toBeLessThan(10_000);
    await exited(w);
    // Once aborted, later steps fail at once.
    expect(() => new SlotReducer(bufs, grads, 0, total).reduce([0], 1, 1)).toThrow(/aborted/);
    abortReduce(bufs); // idempotent
  }, 30000);
});
