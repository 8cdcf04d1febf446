// Gradient worker (see train/parallel.ts): one tfjs instance and one model replica per thread.
import { parentPort, workerData } from 'node:worker_threads';
import { tf, initBackend, backendInfo, matMulPeakGflops, measureMatMul, readFloat32, type BackendName } from '@gptlab/tensor';
import { buildReplica, type Replica } from './train/replica';
import { addGradients } from './train/gradients';
import { gptReplica } from './lm';
import { ownedCopy, type WorkerInit, type WorkerReply, type WorkerRequest } from './train/parallel';
import { SlotReducer, abortReduce } from './train/parallel-reduce';

const init = workerData as WorkerInit;
const port = parentPort!;
let replica: Replica;
const paramView = new Float32Array(init.params);
const slot = new Float32Array(init.grads, init.index * getTotal() * 4, getTotal());
const reducer = new SlotReducer(init.reduce, init.grads, init.index, getTotal());

function getTotal(): number {
  return init.layout.reduce((a, l) => a + l.size, 0);
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
  for (const l of init.layout) {
    const v = replica.params[l.name]!;
    tf.tidy(() => v.assign(tf.tensor(ownedCopy(paramView.subarray(l.offset, l.offset + l.size)), v.shape, 'float32')));
  }
  const t1 = performance.now();
  const vars = init.layout.map((l) => replica.params[l.name]!);
  const nameOf = new Map(init.layout.map((l) => [replica.params[l.name]!.name, l.name]));
  let sum: Record<string, tf.Tensor> = {};
  let t2 = t1;
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
    for (const l of init.layout) {
      const g = sum[l.name];
      if (g) slot.set(readFloat32(g), l.offset);
      else slot.fill(0, l.offset, l.offset + l.size);
    }
  } finally {
    for (const g of Object.values(sum)) g.dispose();
  }
  return [t1 - t0, t2 - t1, performance.now() - t2];
}

function step(msg: Extract<WorkerRequest, { type: 'step' }>): void {
  const t0 = performance.now();
  const losses: { index: number; loss: number }[] = [];
  try {
    // A worker without chunks this step (fewer chunks than workers) still averages its share of the slots.
    const [load, grad, write] = msg.chunks.length > 0 ? gradientsIntoSlot(msg, losses) : [0, 0, 0];
    const t1 = performance.now();
    const waited = { ms: 0 };
    const sumSquares = reducer.reduce(msg.active, init.total, msg.inv, waited);
    const t2 = performance.now();
    const phases = {
      load: load! / 1000,
      grad: grad! / 1000,
      write: write! / 1000,
      wait: waited.ms / 1000,
      reduce: (t2 - t1 - waited.ms) / 1000,
    };
    reply({ type: 'done', losses, sumSquares, seconds: (t2 - t0) / 1000, phases });
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
