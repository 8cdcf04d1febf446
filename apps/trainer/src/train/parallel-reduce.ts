// The all-reduce of the data-parallel step, done by the gradient workers themselves. Each worker writes the sum
// of its gradients into its own slot of a shared buffer; they meet at a barrier (Atomics on a shared Int32Array),
// then worker i averages range i of the slots into the shared mean and returns the squared norm of that range.
// The main thread used to do this pass alone while every worker sat idle (a serial part of each step); split
// over the workers it takes 1/n of the time. Each element still sums the slots in worker order, as before.

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
}

export function createReduceBuffers(total: number): ReduceBuffers {
  return { ctrl: new SharedArrayBuffer(CTRL_INTS * 4), mean: new SharedArrayBuffer(total * 4) };
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

  constructor(
    bufs: ReduceBuffers,
    grads: SharedArrayBuffer,
    private readonly index: number,
    private readonly total: number,
  ) {
    this.ctrl = new Int32Array(bufs.ctrl);
    this.mean = new Float32Array(bufs.mean);
    this.slots = new Float32Array(grads);
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
}
