// Data-parallel gradients over worker_threads (for plain wasm, whose kernels run on one thread, and with the
// native kernels, one thread pool per worker). Each worker owns a tfjs instance and a replica of the model.
// Per step the main thread writes the current weights into a SharedArrayBuffer, hands each worker its
// micro-batches, and each worker writes the sum of its gradients into its own slot of a shared gradient
// buffer; the workers then average the slots together (parallel-reduce.ts) and, when the loop hands them the
// optimizer step (compute's `update`), each runs AdamW on its range of the weights (the moments shared, ZeRO-1
// style) instead of the main thread running it alone while they wait. With equal micro-batches the mean of the
// chunk gradients is the gradient of the global batch, so the losses match a single worker up to float rounding.
import { Worker } from 'node:worker_threads';
import * as path from 'node:path';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { createRequire } from 'node:module';
import { tf, backendInfo } from '@gptlab/tensor';
import type { TokenBatch } from './batches';
import type { FlatUpdate, GradientSource, StepGradients } from './gradients';
import type { ReplicaSpec } from './replica';
import { abortReduce, createReduceBuffers, type ReduceBuffers } from './parallel-reduce';
import type { ParamLayout, WorkerInit, WorkerReply, WorkerRequest, WorkerTiming, WorkerUpdate } from './parallel-protocol';

export type { ParamLayout, WorkerInit, WorkerPhases, WorkerTiming, WorkerRequest, WorkerUpdate, WorkerReply } from './parallel-protocol';

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
    private readonly paramView: Float32Array,
    private readonly reduceBufs: ReduceBuffers,
  ) {
    this.mean = new Float32Array(reduceBufs.mean);
  }

  get workers(): number {
    return this.workersList.length;
  }

  /** Sum of the workers' measured matMul peaks (GFLOP/s), when measured. */
  peakGflops: number | null = null;
  /** Whether every worker computes with the native kernels of @gptlab/tensor-native. */
  native = false;
  /** Native kernel threads per worker (0 when the workers run plain tfjs). */
  threadsPerWorker = 0;

  /**
   * Starts `n` workers, each building `spec`; resolves when all are ready. The workers use the optional native
   * kernels when this thread does (`opts.native` overrides), each with its share of the cores
   * (GPTLAB_THREADS = cores / n, at least 1): the addon keeps one thread pool per JS thread.
   */
  static async start(
    params: Record<string, tf.Variable>,
    spec: ReplicaSpec,
    n: number,
    backend: string,
    opts: { measurePeak?: boolean; native?: boolean } = {},
  ): Promise<WorkerGradients> {
    if (!(n >= 1)) throw new Error(`workers must be ≥ 1, got ${n}`);
    const native = opts.native ?? backendInfo()?.native.active ?? false;
    const threadsPerWorker = native ? Math.max(1, Math.floor(os.availableParallelism() / n)) : 0;
    const env = native ? { ...process.env, GPTLAB_THREADS: String(threadsPerWorker) } : { ...process.env, GPTLAB_NATIVE: '0' };
    const { layout, total } = layoutOf(params);
    const paramsSab = new SharedArrayBuffer(total * 4);
    const gradsSab = new SharedArrayBuffer(total * 4 * n);
    const reduce = createReduceBuffers(total, n);
    const { file, execArgv, eval: isEval } = workerScript();
    const list: Worker[] = [];
    const ready: Promise<{ peakGflops: number | null; native: boolean }>[] = [];
    for (let i = 0; i < n; i++) {
      const init: WorkerInit = {
        spec,
        backend,
        layout,
        params: paramsSab,
        grads: gradsSab,
        reduce,
        index: i,
        total: n,
        measurePeak: opts.measurePeak ?? false,
      };
      const w = new Worker(file, {
        workerData: init,
        execArgv,
        eval: isEval ?? false,
        stderr: false,
        env,
      });
      list.push(w);
      ready.push(
        new Promise<{ peakGflops: number | null; native: boolean }>((resolve, reject) => {
          const onMsg = (m: WorkerReply) => {
            off();
            if (m.type === 'ready') resolve(m);
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
    let replies: { peakGflops: number | null; native: boolean }[];
    try {
      replies = await Promise.all(ready);
    } catch (e) {
      await Promise.all(list.map((w) => w.terminate()));
      throw e;
    }
    const g = new WorkerGradients(params, list, layout, new Float32Array(paramsSab), reduce);
    const peaks = replies.map((r) => r.peakGflops);
    if (peaks.every((p) => p !== null)) g.peakGflops = (peaks as number[]).reduce((a, b) => a + b, 0);
    g.native = replies.every((r) => r.native);
    g.threadsPerWorker = g.native ? threadsPerWorker : 0;
    for (const w of list) {
      w.on('error', (e) => g.failAll(new Error(`a gradient worker failed: ${e.message}`)));
      w.on('exit', (code) => {
        if (!g.closed) g.failAll(new Error(`a gradient worker exited unexpectedly (code ${code})`));
      });
    }
    return g;
  }

  private failAll(e: Error): void {
    // Workers waiting at the reduce barrier for the one that died reply with an error instead of waiting on.
    abortReduce(this.reduceBufs);
    const p = this.pending;
    this.pending = [];
    for (const x of p) x.reject(e);
  }

  private sums = {
    steps: 0,
    mainWait: 0,
    worker: 0,
    load: 0,
    grad: 0,
    write: 0,
    wait: 0,
    reduce: 0,
    update: 0,
    gradCpu: 0,
    publish: 0,
    main: 0,
    mainSteps: 0,
  };
  /** When the last reply of the previous step arrived (main_ms). */
  private lastReply: number | null = null;
  /** The mean gradient the workers write (parallel-reduce.ts). */
  private readonly mean: Float32Array;

  /** Where the steps so far spent their time (means per step), to see what the data-parallel path loses. */
  timing(): WorkerTiming {
    const t = this.sums;
    const ms = (x: number) => Number(((1000 * x) / Math.max(1, t.steps)).toFixed(2));
    return {
      steps: t.steps,
      wait_ms: ms(t.mainWait),
      worker_ms: ms(t.worker),
      worker_load_ms: ms(t.load),
      worker_grad_ms: ms(t.grad),
      worker_write_ms: ms(t.write),
      worker_wait_ms: ms(t.wait),
      worker_reduce_ms: ms(t.reduce),
      worker_update_ms: ms(t.update),
      worker_grad_cpu_ms: t.gradCpu < 0 ? null : ms(t.gradCpu),
      publish_ms: ms(t.publish),
      main_ms: Number(((1000 * t.main) / Math.max(1, t.mainSteps)).toFixed(2)),
    };
  }

  /** Whether the shared weights are those of the main thread's tensors (set after each optimizer step). */
  private shared = false;

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
    const t0 = performance.now();
    for (const l of this.layout) {
      const v = this.params[l.name]!;
      const next = tf.tensor(ownedCopy(this.paramView.subarray(l.offset, l.offset + l.size)), v.shape, 'float32');
      v.assign(next);
      next.dispose();
    }
    this.shared = true;
    this.sums.publish += (performance.now() - t0) / 1000;
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

  /** The optimizer step for the workers' ranges: the moments shared (AdamW.shareMoments), t not yet counted. */
  private workerUpdate(u: FlatUpdate): WorkerUpdate {
    const { optimizer: opt, lr, clip } = u;
    const { m, v } = opt.shareMoments(this.layout);
    const keeps = this.layout.map((l) =>
      opt.decaysParam(l.name, { rank: l.shape.length, shape: l.shape }) ? 1 - lr * opt.weightDecay : 1,
    );
    const coefficients = { beta1: opt.beta1, beta2: opt.beta2, eps: opt.eps, ...opt.nextCoefficients(lr) };
    return { m: m.buffer as SharedArrayBuffer, v: v.buffer as SharedArrayBuffer, keeps, coefficients, clip };
  }

  async compute(chunks: TokenBatch[], step: number, seeds: number[], update?: FlatUpdate): Promise<StepGradients> {
    if (this.closed) throw new Error('gradient workers are stopped');
    if (!this.shared) await this.syncParams();
    // From here the shared weights are only valid again once the optimizer has written them.
    this.shared = false;
    const n = this.workersList.length;
    type Step = Extract<WorkerRequest, { type: 'step' }>;
    const per: Step[] = Array.from({ length: n }, () => ({ type: 'step' as const, step, chunks: [], active: [], inv: 1 / chunks.length }));
    chunks.forEach((c, i) => {
      per[i % n]!.chunks.push({
        tokens: c.tokens,
        rows: c.rows,
        T: c.T,
        seed: seeds[i] ?? 0,
        index: i,
      });
    });
    // Every worker takes part in the reduce, also one without chunks this step.
    const active = per.flatMap((p, i) => (p.chunks.length > 0 ? [i] : []));
    // GPTLAB_WORKER_OPTIMIZER=0 leaves the optimizer step to the main thread (the former path, to compare).
    const workerUpdate = update && process.env.GPTLAB_WORKER_OPTIMIZER !== '0' ? this.workerUpdate(update) : undefined;
    for (const p of per) {
      p.active = active;
      if (workerUpdate) p.update = workerUpdate;
    }
    const t0 = performance.now();
    if (this.lastReply !== null) {
      this.sums.main += (t0 - this.lastReply) / 1000;
      this.sums.mainSteps += 1;
    }
    const replies = await Promise.all(this.workersList.map((w, i) => this.ask(w, per[i]!)));
    const t1 = performance.now();
    this.lastReply = t1;
    const chunkLosses = new Array<number>(chunks.length).fill(NaN);
    let sumSquares = 0;
    for (const r of replies) {
      if (r.type === 'error') throw new Error(`gradient worker: ${r.message}`);
      if (r.type !== 'done') throw new Error(`gradient worker replied ${r.type}`);
      for (const { index, loss } of r.losses) chunkLosses[index] = loss;
      sumSquares += r.sumSquares;
    }
    const done = replies as Extract<WorkerReply, { type: 'done' }>[];
    this.count(done, (t1 - t0) / 1000);
    const loss = chunkLosses.reduce((a, b) => a + b, 0) / chunkLosses.length;
    // The workers all decide alike (from the same shared sums); they skip the update on a non-finite loss or
    // norm, and the loop then stops the run without an optimizer step.
    const updated = workerUpdate !== undefined && done.every((r) => r.updated);
    if (updated) update!.optimizer.commitStep();
    return { loss, chunkLosses, grads: {}, flat: { layout: this.layout, grads: this.mean, params: this.paramView, sumSquares, updated } };
  }

  private count(replies: Extract<WorkerReply, { type: 'done' }>[], mainWait: number): void {
    const t = this.sums;
    t.steps += 1;
    t.mainWait += mainWait;
    t.worker += Math.max(...replies.map((r) => r.seconds));
    for (const r of replies) {
      for (const k of ['load', 'grad', 'write', 'wait', 'reduce', 'update'] as const) t[k] += r.phases[k] / replies.length;
      // -1 (unreadable) anywhere keeps the sum negative: reported as null.
      t.gradCpu += r.phases.gradCpu < 0 ? -1e9 : r.phases.gradCpu / replies.length;
    }
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
