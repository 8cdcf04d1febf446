import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { SlotReducer, abortReduce, createReduceBuffers, reduceRange } from '../src/train/parallel-reduce';

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
      const bufs = createReduceBuffers(total);
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

  test('a worker that fails releases the others from the barrier (an error, not a hang)', async () => {
    const total = 64;
    const grads = new SharedArrayBuffer(2 * total * 4);
    const bufs = createReduceBuffers(total);
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
