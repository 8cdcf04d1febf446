// Gradient worker (see train/parallel.ts): one tfjs instance and one model replica per thread.
import { parentPort, workerData } from 'node:worker_threads';
import * as fs from 'node:fs';
import { tf, initBackend, backendInfo, matMulPeakGflops, measureMatMul, readFloat32, type BackendName } from '@gptlab/tensor';
import { buildReplica, type Replica } from './train/replica';
import { addGradients } from './train/gradients';
import { gptReplica } from './lm';
import { ownedCopy } from './train/parallel';
import type { WorkerInit, WorkerReply, WorkerRequest } from './train/parallel-protocol';
import { SlotReducer, abortReduce, type RangeUpdate } from './train/parallel-reduce';

const init = workerData as WorkerInit;
const port = parentPort!;
let replica: Replica;
const paramView = new Float32Array(init.params);
const slot = new Float32Array(init.grads, init.index * getTotal() * 4, getTotal());
const reducer = new SlotReducer(init.reduce, init.grads, init.index, getTotal());

function getTotal(): number {
  return init.layout.reduce((a, l) => a + l.size, 0);
}

/**
 * CPU seconds this thread has used (Linux: utime + stime of /proc/thread-self/stat, 10 ms ticks; -1 elsewhere).
 * Read synchronously, so on this very thread.
 */
function threadCpuSeconds(): number {
  try {
    const stat = fs.readFileSync('/proc/thread-self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of proc(5), counted from the state field (3) after the command name.
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return -1;
  }
}

function reply(m: WorkerReply): void {
  port.postMessage(m);
}

async function start(): Promise<void> {
  await initBackend({ backend: init.backend as BackendName });
  replica = buildReplica(init.spec, gptReplica);
  for (const l of init.layout) {
    const v = replica.params[l.name];
    if (!v) throw new Error(`the replica has no parameter "${l.name}"`);
    if (v.size !== l.size) throw new Error(`parameter "${l.name}" has ${v.size} values in the replica, ${l.size} on the main thread`);
  }
  reply({
    type: 'ready',
    native: backendInfo()?.native.active ?? false,
    peakGflops: init.measurePeak ? Math.max(matMulPeakGflops(), measureMatMul(1024, 0.25).gflops, measureMatMul(2048, 0.3).gflops) : null,
  });
}

/** Loads the shared weights and writes the sum of this worker's chunk gradients into its slot. */
function gradientsIntoSlot(msg: Extract<WorkerRequest, { type: 'step' }>, losses: { index: number; loss: number }[]): number[] {
  const t0 = performance.now();
  const cpu0 = threadCpuSeconds();
  for (const l of init.layout) {
    const v = replica.params[l.name]!;
    tf.tidy(() => v.assign(tf.tensor(ownedCopy(paramView.subarray(l.offset, l.offset + l.size)), v.shape, 'float32')));
  }
  const t1 = performance.now();
  const vars = init.layout.map((l) => replica.params[l.name]!);
  const nameOf = new Map(init.layout.map((l) => [replica.params[l.name]!.name, l.name]));
  let sum: Record<string, tf.Tensor> = {};
  let t2 = t1;
  let gradCpu = -1;
  try {
    for (const c of msg.chunks) {
      const { value, grads } = tf.variableGrads(
        () => replica.lossFn({ tokens: c.tokens, rows: c.rows, T: c.T }, { seed: c.seed, step: msg.step, chunk: c.index, training: true }),
        vars,
      );
      losses.push({ index: c.index, loss: value.dataSync()[0]! });
      value.dispose();
      sum = addGradients(sum, grads, nameOf);
    }
    t2 = performance.now();
    const cpu1 = threadCpuSeconds();
    gradCpu = cpu0 < 0 || cpu1 < 0 ? -1 : cpu1 - cpu0;
    for (const l of init.layout) {
      const g = sum[l.name];
      if (g) slot.set(readFloat32(g), l.offset);
      else slot.fill(0, l.offset, l.offset + l.size);
    }
  } finally {
    for (const g of Object.values(sum)) g.dispose();
  }
  // The CPU time counts loading too (a few ms; one 10 ms tick is the resolution anyway).
  return [t1 - t0, t2 - t1, performance.now() - t2, gradCpu];
}

/** The step's optimizer update for this worker's range, over the shared weights and moments. */
function rangeUpdate(u: NonNullable<Extract<WorkerRequest, { type: 'step' }>['update']>): RangeUpdate {
  return {
    layout: init.layout,
    params: paramView,
    m: new Float32Array(u.m),
    v: new Float32Array(u.v),
    keeps: u.keeps,
    coefficients: u.coefficients,
    clip: u.clip,
  };
}

function step(msg: Extract<WorkerRequest, { type: 'step' }>): void {
  const t0 = performance.now();
  const losses: { index: number; loss: number }[] = [];
  try {
    // A worker without chunks this step (fewer chunks than workers) still averages its share of the slots.
    const [load, grad, write, gradCpu] = msg.chunks.length > 0 ? gradientsIntoSlot(msg, losses) : [0, 0, 0, 0];
    const t1 = performance.now();
    const waited = { ms: 0, reducedAt: 0 };
    let sumSquares: number;
    let updated = false;
    if (msg.update) {
      const lossSum = losses.reduce((a, l) => a + l.loss, 0);
      ({ sumSquares, updated } = reducer.reduceAndUpdate(msg.active, init.total, msg.inv, lossSum, rangeUpdate(msg.update), waited));
    } else {
      sumSquares = reducer.reduce(msg.active, init.total, msg.inv, waited);
    }
    const t2 = performance.now();
    const reduced = msg.update ? waited.reducedAt : t2;
    const phases = {
      load: load! / 1000,
      grad: grad! / 1000,
      write: write! / 1000,
      wait: waited.ms / 1000,
      reduce: (reduced - t1 - waited.ms) / 1000,
      update: (t2 - reduced) / 1000,
      gradCpu: gradCpu!,
    };
    reply({ type: 'done', losses, sumSquares, updated, seconds: (t2 - t0) / 1000, phases });
  } catch (e) {
    // The other workers may be waiting for this one at the reduce barrier: release them.
    abortReduce(init.reduce);
    reply({ type: 'error', message: e instanceof Error ? e.message : String(e) });
  }
}

port.on('message', (m: WorkerRequest) => {
  if (m.type === 'stop') {
    // Closing the port leaves the thread nothing to wait for: it ends, and the main thread sees 'exit'.
    replica?.dispose();
    port.close();
    return;
  }
  step(m);
});

start().catch((e: Error) => reply({ type: 'error', message: e?.message ?? String(e) }));
