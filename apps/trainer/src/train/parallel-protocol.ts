// The messages between the main thread (parallel.ts) and its gradient workers (worker.ts), and the time split
// they report.
import type { FlatParam } from './adamw';
import type { ReduceBuffers } from './parallel-reduce';
import type { ReplicaSpec } from './replica';

/** Where each parameter sits in the shared flat buffers (the optimizer's flat layout). */
export type ParamLayout = FlatParam;

export interface WorkerInit {
  spec: ReplicaSpec;
  backend: string;
  layout: ParamLayout[];
  params: SharedArrayBuffer;
  grads: SharedArrayBuffer;
  reduce: ReduceBuffers;
  index: number;
  total: number;
  /** Measure the worker's own matMul peak at start (the MFU denominator). */
  measurePeak: boolean;
}

/** Seconds a worker spent in one step: loading the shared weights, forward + backward, writing its slot. */
export interface WorkerPhases {
  load: number;
  grad: number;
  write: number;
  /** Waiting at the barrier for the other workers. */
  wait: number;
  /** Averaging this worker's range of the slots. */
  reduce: number;
  /** The optimizer step on this worker's range (0 when the main thread runs it). */
  update: number;
  /** CPU time of this thread during forward + backward (Linux; -1 elsewhere): below `grad` when other
   * threads or processes took the core. */
  gradCpu: number;
}

/** Mean milliseconds per step of the data-parallel step's parts (`WorkerGradients.timing()`). */
export interface WorkerTiming {
  steps: number;
  /** Main thread: from posting the step to the last reply. */
  wait_ms: number;
  /** The slowest worker's own time. */
  worker_ms: number;
  /** Means over the workers: loading the weights, forward + backward, writing the slot, waiting at the reduce
   * barrier for the others (load imbalance), averaging its share of the slots (parallel-reduce.ts). */
  worker_load_ms: number;
  worker_grad_ms: number;
  worker_write_ms: number;
  worker_wait_ms: number;
  worker_reduce_ms: number;
  /** The AdamW step on the worker's range (0 when the main thread runs it). */
  worker_update_ms: number;
  /** The workers' CPU time during forward + backward (null where it cannot be read). */
  worker_grad_cpu_ms: number | null;
  /** Main thread: the new weights into its own tensors (paramsUpdated). */
  publish_ms: number;
  /** Main thread alone between two steps (from the last reply to the next post: the optimizer when it runs
   * there, publish, the loop's bookkeeping, the next batch), from the second step on. */
  main_ms: number;
}

export type WorkerRequest =
  | {
      type: 'step';
      step: number;
      chunks: { tokens: Int32Array; rows: number; T: number; seed: number; index: number }[];
      /** Workers whose slots hold gradients this step (those with chunks), summed in this order. */
      active: number[];
      /** 1 / the number of chunks of the step (the mean over chunks). */
      inv: number;
      /** The optimizer step on the workers' ranges (absent: the main thread runs it). */
      update?: WorkerUpdate;
    }
  | { type: 'stop' };

/** The step's AdamW on the workers: the shared moments and what RangeUpdate (parallel-reduce.ts) needs. */
export interface WorkerUpdate {
  m: SharedArrayBuffer;
  v: SharedArrayBuffer;
  keeps: number[];
  coefficients: { beta1: number; beta2: number; eps: number; stepSize: number; invBc2: number };
  clip: number;
}

export type WorkerReply =
  | { type: 'ready'; peakGflops: number | null; native: boolean }
  | {
      type: 'done';
      losses: { index: number; loss: number }[];
      sumSquares: number;
      updated: boolean;
      seconds: number;
      phases: WorkerPhases;
    }
  | { type: 'error'; message: string };
