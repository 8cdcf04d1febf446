// Data-parallel gradients over worker_threads (for the wasm backend, whose kernels run on one thread).
// Each worker owns a tfjs/wasm instance and a replica of the model. Per step the main thread writes the
// current weights into a SharedArrayBuffer, hands each worker its micro-batches, and each worker writes the
// sum of its gradients into its own slot of a shared gradient buffer; the main thread averages the slots
// and runs the single optimizer step. With equal micro-batches the mean of the chunk gradients is the
// gradient of the global batch, so the losses match a single worker up to float rounding.
import { Worker } from 'node:worker_threads';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { tf } from '@gptlab/tensor';
import type { TokenBatch } from './batches';
import type { FlatParam } from './adamw';
import type { GradientSource, StepGradients } from './gradients';
import type { ReplicaSpec } from './replica';

/** Where each parameter sits in the shared flat buffers (the optimizer's flat layout). */
export type ParamLayout = FlatParam;

export interface WorkerInit {
  spec: ReplicaSpec;
  backend: string;
  layout: ParamLayout[];
  params: SharedArrayBuffer;
  grads: SharedArrayBuffer;
  index: number;
  total: number;
  /** Measure the worker's own matMul peak at start (the MFU denominator). */
  measurePeak: boolean;
}

export type WorkerRequest =
  | { type: 'step'; step: number; chunks: { tokens: Int32Array; rows: number; T: number; seed: number; index: number }[] }
  | { type: 'stop' };

export type WorkerReply =
  | { type: 'ready'; peakGflops: number | null }
  | { type: 'done'; losses: { index: number; loss: number }[]; seconds: number }
  | { type: 'error'; message: string };

/** The worker script next to this module: dist/worker.(c)js when built, src/worker.ts under ts runners. */
function workerScript(): { file: string; execArgv: string[]; eval?: boolean } {
  const ext = path.extname(__filename);
  if (ext === '.ts') {
    // Running from TypeScript sources (tests): a CommonJS bootstrap registers tsx, then loads worker.ts.
    const req = createRequire(__filename);
    const file = path.resolve(__dirname, '..', 'worker.ts');
    const api = req.resolve('tsx/cjs/api');
    const code = `require(${JSON.stringify(api)}).register(); require(${JSON.stringify(file)});`;
    return { file: code, eval: true, execArgv: [] };
  }
  const candidates = [path.join(__dirname, 'worker' + ext), path.join(__dirname, 'worker.js'), path.join(__dirname, 'worker.cjs')];
  const file = candidates.find((f) => fs.existsSync(f));
  if (!file) throw new Error(`worker script not found next to ${__filename} (looked for ${candidates.join(', ')}); run the build`);
  return { file, execArgv: [] };
}

/**
 * Values for tf.tensor() from shared memory: the wasm backend copies them into its heap anyway; other backends
 * (cpu) may keep the array itself, which must then not be the shared buffer the optimizer rewrites.
 */
export function ownedCopy(view: Float32Array): Float32Array {
  return tf.getBackend() === 'wasm' ? view : view.slice();
}

export function layoutOf(params: Record<string, tf.Variable>): { layout: ParamLayout[]; total: number } {
  const layout: ParamLayout[] = [];
  let offset = 0;
  for (const [name, v] of Object.entries(params)) {
    layout.push({ name, shape: [...v.shape], offset, size: v.size });
    offset += v.size;
  }
  return { layout, total: offset };
}

export class WorkerGradients implements GradientSource<TokenBatch> {
  private pending: { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }[] = [];
  private closed = false;
  private constructor(
    private readonly params: Record<string, tf.Variable>,
    private readonly workersList: Worker[],
    private readonly layout: ParamLayout[],
    private readonly total: number,
    private readonly paramView: Float32Array,
    private readonly gradView: Float32Array,
  ) {}

  get workers(): number {
    return this.workersList.length;
  }

  /** Starts `n` workers, each building `spec`; resolves when all are ready. */
  /** Sum of the workers' measured matMul peaks (GFLOP/s), when measured. */
  peakGflops: number | null = null;

  /**
   * Starts `n` workers, each building `spec`; resolves when all are ready. Workers run without the optional
   * native kernels (GPTLAB_NATIVE=0): those use several threads per instance already, and one instance per
   * core is the point of the workers.
   */
  static async start(
    params: Record<string, tf.Variable>,
    spec: ReplicaSpec,
    n: number,
    backend: string,
    opts: { measurePeak?: boolean } = {},
  ): Promise<WorkerGradients> {
    if (!(n >= 1)) throw new Error(`workers must be ≥ 1, got ${n}`);
    const { layout, total } = layoutOf(params);
    const paramsSab = new SharedArrayBuffer(total * 4);
    const gradsSab = new SharedArrayBuffer(total * 4 * n);
    const { file, execArgv, eval: isEval } = workerScript();
    const list: Worker[] = [];
    const ready: Promise<number | null>[] = [];
    for (let i = 0; i < n; i++) {
      const init: WorkerInit = {
        spec,
        backend,
        layout,
        params: paramsSab,
        grads: gradsSab,
        index: i,
        total: n,
        measurePeak: opts.measurePeak ?? false,
      };
      const w = new Worker(file, {
        workerData: init,
        execArgv,
        eval: isEval ?? false,
        stderr: false,
        env: { ...process.env, GPTLAB_NATIVE: '0' },
      });
      list.push(w);
      ready.push(
        new Promise<number | null>((resolve, reject) => {
          const onMsg = (m: WorkerReply) => {
            off();
            if (m.type === 'ready') resolve(m.peakGflops);
            else reject(new Error(`worker ${i}: ${m.type === 'error' ? m.message : 'unexpected ' + m.type}`));
          };
          const onError = (e: Error) => {
            off();
            reject(new Error(`worker ${i} failed to start: ${e.message}`));
          };
          const onExit = (code: number) => {
            off();
            reject(new Error(`worker ${i} exited during start-up (code ${code})`));
          };
          // Only our own listeners are removed: Worker uses listener events internally to ref its port.
          const off = () => {
            w.off('message', onMsg);
            w.off('error', onError);
            w.off('exit', onExit);
          };
          w.on('message', onMsg);
          w.on('error', onError);
          w.on('exit', onExit);
        }),
      );
    }
    let peaks: (number | null)[];
    try {
      peaks = await Promise.all(ready);
    } catch (e) {
      await Promise.all(list.map((w) => w.terminate()));
      throw e;
    }
    const g = new WorkerGradients(params, list, layout, total, new Float32Array(paramsSab), new Float32Array(gradsSab));
    if (peaks.every((p) => p !== null)) g.peakGflops = (peaks as number[]).reduce((a, b) => a + b, 0);
    for (const w of list) {
      w.on('error', (e) => g.failAll(new Error(`a gradient worker failed: ${e.message}`)));
      w.on('exit', (code) => {
        if (!g.closed) g.failAll(new Error(`a gradient worker exited unexpectedly (code ${code})`));
      });
    }
    return g;
  }

  private failAll(e: Error): void {
    const p = this.pending;
    this.pending = [];
    for (const x of p) x.reject(e);
  }

  /** Whether the shared weights are those of the main thread's tensors (set after each optimizer step). */
  private shared = false;
  /** The mean gradient, reused every step. */
  private mean: Float32Array | null = null;

  /** Copies the main thread's weights into shared memory. */
  private async syncParams(): Promise<void> {
    for (const l of this.layout) {
      const d = (await this.params[l.name]!.data()) as Float32Array;
      this.paramView.set(d, l.offset);
    }
  }

  /**
   * After the optimizer updated the shared weights in place (StepGradients.flat): the main thread's tensors
   * take them too (evaluation, checkpoints and samples read those), and the next step needs no copy.
   */
  paramsUpdated(): void {
    for (const l of this.layout) {
      const v = this.params[l.name]!;
      const next = tf.tensor(ownedCopy(this.paramView.subarray(l.offset, l.offset + l.size)), v.shape, 'float32');
      v.assign(next);
      next.dispose();
    }
    this.shared = true;
  }

  /** Posts `msg` to a worker and resolves with its reply (rejected if a worker fails meanwhile). */
  private ask(w: Worker, msg: WorkerRequest): Promise<WorkerReply> {
    const reply = new Promise<WorkerReply>((resolve, reject) => {
      const entry = { resolve, reject };
      this.pending.push(entry);
      w.once('message', (m: WorkerReply) => {
        this.pending = this.pending.filter((p) => p !== entry);
        resolve(m);
      });
    });
    w.postMessage(msg);
    return reply;
  }

  async compute(chunks: TokenBatch[], step: number, seeds: number[]): Promise<StepGradients> {
    if (this.closed) throw new Error('gradient workers are stopped');
    if (!this.shared) await this.syncParams();
    // From here the shared weights are only valid again once the optimizer has written them.
    this.shared = false;
    const n = this.workersList.length;
    const per: WorkerRequest[] = Array.from({ length: n }, () => ({ type: 'step' as const, step, chunks: [] }));
    chunks.forEach((c, i) => {
      (per[i % n] as Extract<WorkerRequest, { type: 'step' }>).chunks.push({
        tokens: c.tokens,
        rows: c.rows,
        T: c.T,
        seed: seeds[i] ?? 0,
        index: i,
      });
    });
    const active = this.workersList
      .map((w, i) => ({ w, i }))
      .filter(({ i }) => (per[i] as Extract<WorkerRequest, { type: 'step' }>).chunks.length > 0);
    const replies = await Promise.all(active.map(({ w, i }) => this.ask(w, per[i]!)));
    const chunkLosses = new Array<number>(chunks.length).fill(NaN);
    for (const r of replies) {
      if (r.type === 'error') throw new Error(`gradient worker: ${r.message}`);
      if (r.type !== 'done') throw new Error(`gradient worker replied ${r.type}`);
      for (const { index, loss } of r.losses) chunkLosses[index] = loss;
    }
    // Mean of the slots of the workers that ran (each slot holds the sum over its chunks), and its squared
    // norm, in one pass.
    const total = this.total;
    const mean = (this.mean ??= new Float32Array(total));
    const slots = active.map(({ i }) => this.gradView.subarray(i * total, (i + 1) * total));
    mean.set(slots[0]!);
    for (let k = 1; k < slots.length; k++) {
      const sk = slots[k]!;
      for (let j = 0; j < total; j++) mean[j] += sk[j]!;
    }
    const inv = 1 / chunks.length;
    let sumSquares = 0;
    for (let j = 0; j < total; j++) {
      const g = mean[j]! * inv;
      mean[j] = g;
      sumSquares += g * g;
    }
    const loss = chunkLosses.reduce((a, b) => a + b, 0) / chunkLosses.length;
    return { loss, chunkLosses, grads: {}, flat: { layout: this.layout, grads: mean, params: this.paramView, sumSquares } };
  }

  async dispose(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      this.workersList.map(async (w) => {
        w.postMessage({ type: 'stop' } satisfies WorkerRequest);
        const t = setTimeout(() => void w.terminate(), 2000);
        await new Promise((r) => w.once('exit', r));
        clearTimeout(t);
      }),
    );
  }
}
