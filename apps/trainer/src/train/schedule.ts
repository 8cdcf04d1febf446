// Learning-rate schedule: linear warm-up, then cosine decay to a floor (GPT-3: cosine to 10% of the peak,
// Brown et al. 2020, appendix B). Steps are 0-based optimizer steps.

export interface ScheduleOptions {
  /** Peak learning rate. */
  lr: number;
  /** Linear warm-up steps (lr grows from lr/warmup to lr). */
  warmupSteps: number;
  /** Total optimizer steps; the cosine reaches the floor here. */
  totalSteps: number;
  /** Floor as a fraction of the peak (default 0.1, GPT-3). */
  minLrRatio?: number;
}

export type Schedule = (step: number) => number;

export function cosineSchedule(o: ScheduleOptions): Schedule {
  const minRatio = o.minLrRatio ?? 0.1;
  if (!(o.lr > 0)) throw new Error(`learning rate must be > 0, got ${o.lr}`);
  if (!(o.warmupSteps >= 0)) throw new Error(`warm-up steps must be ≥ 0, got ${o.warmupSteps}`);
  if (!(minRatio >= 0 && minRatio <= 1)) throw new Error(`minLrRatio must be in [0, 1], got ${minRatio}`);
  const minLr = o.lr * minRatio;
  return (step: number) => {
    if (step < o.warmupSteps) return (o.lr * (step + 1)) / o.warmupSteps;
    const span = Math.max(1, o.totalSteps - o.warmupSteps);
    const progress = Math.min(1, (step - o.warmupSteps) / span);
    return minLr + 0.5 * (o.lr - minLr) * (1 + Math.cos(Math.PI * progress));
  };
}

export function constantSchedule(lr: number): Schedule {
  return () => lr;
}

/**
 * GPT-1's fine-tuning schedule: linear warm-up over `warmupSteps` (at least 1), then linear decay to 0 at
 * `totalSteps` (Radford et al. 2018, §4.1).
 */
export function linearSchedule(o: Omit<ScheduleOptions, 'minLrRatio'>): Schedule {
  if (!(o.lr > 0)) throw new Error(`learning rate must be > 0, got ${o.lr}`);
  const warmup = Math.max(1, o.warmupSteps);
  return (step: number) =>
    step < warmup ? (o.lr * (step + 1)) / warmup : (o.lr * Math.max(0, o.totalSteps - step)) / Math.max(1, o.totalSteps - warmup);
}
