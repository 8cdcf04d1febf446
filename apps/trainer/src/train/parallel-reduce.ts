// The all-reduce of the data-parallel step, done by the gradient workers themselves. Each worker writes the sum
// of its gradients into its own slot of a shared buffer; they meet at a barrier (Atomics on a shared Int32Array),
// then worker i averages range i of the slots into the shared mean and returns the squared norm of that range.
// The main thread used to do this pass alone while every worker sat idle (a serial part of each step); split
// over the workers it takes 1/n of the time. Each element still sums the slots in worker order, as before.
// With reduceAndUpdate the workers also run the optimizer step on their ranges (ZeRO-1 style: the AdamW moments
// live in shared memory, each worker updates its range of weights and moments): a second barrier publishes each
// range's squared norm and loss sum, every worker adds them up in worker order (the clipping scale the main thread
// would compute, bit for bit), and then runs AdamW's own loop (adamwElements) on its range. The main thread's
// serial optimizer pass, during which every worker sat idle, is gone.
import { adamwElements, type AdamWCoefficients, type FlatParam } from './adamw';
import { clipScale } from './clip';

/** Indices into the control Int32Array. */
const ARRIVED = 0;
const GENERATION = 1;
const ABORT = 2;
const CTRL_INTS = 4;
/** Ranges start on 64-byte boundaries, so two workers never write the same cache line. */
const ALIGN = 16;

export interface ReduceBuffers {
  /** [arrived, generation, abort, unused] */
  ctrl: SharedArrayBuffer;
  /** The mean gradient, `total` floats (the optimizer reads it). */
  mean: SharedArrayBuffer;
  /** Per worker [its range's Σ mean², its chunks' loss sum] (float64), for the update on the workers. */
  partials: SharedArrayBuffer;
}

export function createReduceBuffers(total: number, parties: number): ReduceBuffers {
  return {
    ctrl: new SharedArrayBuffer(CTRL_INTS * 4),
    mean: new SharedArrayBuffer(total * 4),
    partials: new SharedArrayBuffer(2 * parties * 8),
  };
}

/** What a worker needs to run the optimizer step on its range (AdamW, parameters in the flat layout). */
export interface RangeUpdate {
  layout: readonly FlatParam[];
  /** The flat weights (updated in place) and the AdamW moments, all shared. */
  params: Float32Array;
  m: Float32Array;
  v: Float32Array;
  /** 1 − lr·λ for each layout entry (1 where the parameter does not decay). */
  keeps: readonly number[];
  coefficients: Omit<AdamWCoefficients, 'keep' | 'gradScale'>;
  /** Global-norm clip (0 disables). */
  clip: number;
}

/** Worker `index` of `parties` reduces [start, end) of `total` values. */
export function reduceRange(index: number, parties: number, total: number): { start: number; end: number } {
  const per = Math.ceil(total / parties / ALIGN) * ALIGN;
  return { start: Math.min(total, index * per), end: Math.min(total, (index + 1) * per) };
}

/**
 * Marks the step failed and wakes every worker waiting at the barrier (they then reply with an error instead of
 * waiting forever for a worker that will not arrive). Called by a worker whose step failed, and by the main
 * thread when a worker dies.
 */
export function abortReduce(bufs: ReduceBuffers): void {
  const ctrl = new Int32Array(bufs.ctrl);
  Atomics.store(ctrl, ABORT, 1);
  Atomics.notify(ctrl, GENERATION);
}

/** The worker side: the barrier and this worker's share of the average. */
export class SlotReducer {
  private readonly ctrl: Int32Array;
  private readonly mean: Float32Array;
  private readonly slots: Float32Array;

  private readonly partials: Float64Array;

  constructor(
    bufs: ReduceBuffers,
    grads: SharedArrayBuffer,
    private readonly index: number,
    private readonly total: number,
  ) {
    this.ctrl = new Int32Array(bufs.ctrl);
    this.mean = new Float32Array(bufs.mean);
    this.slots = new Float32Array(grads);
    this.partials = new Float64Array(bufs.partials);
  }

  /** Waits until all `parties` workers arrived (throws when the step was aborted). */
  private barrier(parties: number): void {
    const c = this.ctrl;
    const generation = Atomics.load(c, GENERATION);
    if (Atomics.add(c, ARRIVED, 1) === parties - 1) {
      Atomics.store(c, ARRIVED, 0);
      Atomics.add(c, GENERATION, 1);
      Atomics.notify(c, GENERATION);
      return;
    }
    while (Atomics.load(c, GENERATION) === generation) {
      if (Atomics.load(c, ABORT) !== 0) throw new Error('another gradient worker failed during this step');
      Atomics.wait(c, GENERATION, generation, 1000);
    }
  }

  /**
   * After this worker wrote its slot (or had no chunks): waits for the others, then writes mean[j] =
   * inv · Σ slots[k][j] (k in `active`, in that order) over its range and returns the range's Σ mean[j]²
   * (and the milliseconds spent waiting for the others in `waited.ms`, when given).
   */
  reduce(active: readonly number[], parties: number, inv: number, waited?: { ms: number }): number {
    if (Atomics.load(this.ctrl, ABORT) !== 0) throw new Error('the data-parallel step was aborted');
    const t0 = performance.now();
    this.barrier(parties);
    if (waited) waited.ms = performance.now() - t0;
    const { start, end } = reduceRange(this.index, parties, this.total);
    const mean = this.mean;
    const total = this.total;
    const s = this.slots;
    let sumSquares = 0;
    // One pass per element: the float32 sum of the slots in worker order (Math.fround: as the float32 array
    // accumulated it before), times inv; the usual cases of 1 and 2 slots without an inner loop.
    if (active.length <= 2) {
      const a = active[0]! * total;
      const b = active.length === 2 ? active[1]! * total : -1;
      for (let j = start; j < end; j++) {
        const g = (b < 0 ? s[a + j]! : Math.fround(s[a + j]! + s[b + j]!)) * inv;
        mean[j] = g;
        sumSquares += g * g;
      }
    } else {
      const offs = active.map((k) => k * total);
      for (let j = start; j < end; j++) {
        let acc = s[offs[0]! + j]!;
        for (let k = 1; k < offs.length; k++) acc = Math.fround(acc + s[offs[k]! + j]!);
        const g = acc * inv;
        mean[j] = g;
        sumSquares += g * g;
      }
    }
    return sumSquares;
  }

  /**
   * reduce(), then the optimizer step on this worker's range: waits until every worker published its range's
   * squared norm and loss sum (`lossSum`: NaN or ±∞ when a loss was), adds them in worker order and, when the
   * norm and the losses are finite, updates the weights and moments of its range with the clipped mean gradient
   * (nothing changes otherwise: the main thread stops the run). Returns this range's Σ mean² and whether it
   * updated (the same answer on every worker); `waited.reducedAt` gets the time the average was done.
   */
  reduceAndUpdate(
    active: readonly number[],
    parties: number,
    inv: number,
    lossSum: number,
    u: RangeUpdate,
    waited?: { ms: number; reducedAt?: number },
  ): { sumSquares: number; updated: boolean } {
    const sumSquares = this.reduce(active, parties, inv, waited);
    if (waited) waited.reducedAt = performance.now();
    const p = this.partials;
    p[2 * this.index] = sumSquares;
    p[2 * this.index + 1] = lossSum;
    this.barrier(parties);
    // The main thread's order: 0 + s₀ + s₁ + …
    let total = 0;
    let lossesFinite = true;
    for (let k = 0; k < parties; k++) {
      total += p[2 * k]!;
      if (!Number.isFinite(p[2 * k + 1]!)) lossesFinite = false;
    }
    const norm = Math.sqrt(total);
    if (!lossesFinite || !Number.isFinite(norm)) return { sumSquares, updated: false };
    const gradScale = clipScale(norm, u.clip);
    const { start, end } = reduceRange(this.index, parties, this.total);
    u.layout.forEach((l, i) => {
      const from = Math.max(start, l.offset);
      const to = Math.min(end, l.offset + l.size);
      if (from >= to) return;
      const w = u.params.subarray(from, to);
      const c = { ...u.coefficients, keep: u.keeps[i]!, gradScale };
      adamwElements(w, w, u.m.subarray(from, to), u.v.subarray(from, to), this.mean.subarray(from, to), c);
    });
    return { sumSquares, updated: true };
  }
}
