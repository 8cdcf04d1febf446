// The step engine under every trainer: gradients (local or from worker threads) → global-norm clipping →
// AdamW with a scheduled learning rate → callbacks for metrics, evaluation and checkpoints at fixed
// intervals, a time budget and a stop flag. It knows nothing of files: Trainer (trainer.ts) adds the run
// directory around it; the bench drives it bare.
import { tf } from '@gptlab/tensor';
import type { AdamW } from './adamw';
import { clipScale, globalNorm } from './clip';
import type { GradientSource } from './gradients';

export interface StepRecord {
  /** Completed optimizer steps (1-based number of the step just done). */
  step: number;
  totalSteps: number;
  loss: number;
  /** Named parts of the loss (e.g. the task and LM terms of GPT-1 fine-tuning), means over the chunks. */
  parts: Record<string, number>;
  lr: number;
  gradNorm: number;
  tokens: number;
  tokensSeen: number;
  /** Seconds this step took. */
  stepSeconds: number;
  /** Tokens per second over the recent steps. */
  tokensPerSec: number;
  /** Model FLOPs utilisation (null without a FLOP count or peak). */
  mfu: number | null;
  elapsedSeconds: number;
  etaSeconds: number;
}

export interface StepBatches<B> {
  chunks: B[];
  seeds: number[];
  /** Tokens trained on in this step (for tokens/s). */
  tokens: number;
}

export type StopReason = 'done' | 'interrupted' | 'time';

export class NonFiniteLossError extends Error {
  constructor(
    readonly step: number,
    readonly what: 'loss' | 'gradient norm' | 'validation loss' | 'weights',
    readonly value: number,
  ) {
    super(`${what} became ${value} at step ${step}`);
    this.name = 'NonFiniteLossError';
  }
}

export interface TrainLoopOptions<B> {
  params: Record<string, tf.Variable>;
  gradients: GradientSource<B>;
  optimizer: AdamW;
  /** Learning rate of 0-based step `step` in a run of `totalSteps`. */
  lr: (step: number, totalSteps: number) => number;
  totalSteps: number;
  /** Completed steps before this call (resume). */
  startStep?: number;
  /** Tokens seen before this call (resume). */
  startTokens?: number;
  /** Seconds already trained (resume; for the time budget). */
  startSeconds?: number;
  /** Global-norm clip (default 1.0; 0 disables). */
  clipNorm?: number;
  /**
   * The micro-batches of 0-based step `step`, drawn in order (the caller's sampler state advances). A promise lets
   * a method run an outer phase first (PPO collects its rollouts); the wait counts in the step's time.
   */
  batches: (step: number) => StepBatches<B> | Promise<StepBatches<B>>;
  /** Wall-clock budget for the whole run in seconds (including startSeconds). */
  maxSeconds?: number;
  /** With maxSeconds: after a few steps, set totalSteps from the measured speed so the schedule ends on time. */
  planStepsFromBudget?: boolean;
  /** Called when totalSteps is re-planned. */
  onPlan?: (totalSteps: number) => void;
  evalEvery?: number;
  evaluate?: (step: number) => Promise<void>;
  checkpointEvery?: number;
  checkpoint?: (step: number, reason: 'interval' | 'end' | 'interrupt') => Promise<void>;
  onStep?: (rec: StepRecord) => void;
  /** Polled after each step (e.g. set by SIGINT). */
  shouldStop?: () => boolean;
  /** Model FLOPs per trained token (forward + backward) for MFU. */
  flopsPerToken?: number;
  /** Peak GFLOP/s of all gradient workers together (denominator of MFU). */
  peakGflops?: number;
}

export interface TrainLoopResult {
  step: number;
  totalSteps: number;
  tokensSeen: number;
  lastLoss: number;
  reason: StopReason;
  seconds: number;
  /** Mean tokens/s over the steps of this call after the first (which includes warm-up). */
  tokensPerSec: number;
}

export async function trainLoop<B>(o: TrainLoopOptions<B>): Promise<TrainLoopResult> {
  let totalSteps = o.totalSteps;
  let step = o.startStep ?? 0;
  let tokensSeen = o.startTokens ?? 0;
  const clip = o.clipNorm ?? 1.0;
  const t0 = performance.now();
  const startSeconds = o.startSeconds ?? 0;
  const elapsed = () => startSeconds + (performance.now() - t0) / 1000;
  const recent: { s: number; tokens: number }[] = [];
  let lastLoss = NaN;
  let planStage = 0;
  let reason: StopReason = 'done';
  let timedTokens = 0;
  let timedSeconds = 0;
  let stepsThisCall = 0;

  while (step < totalSteps) {
    const ts = performance.now();
    const { chunks, seeds, tokens } = await o.batches(step);
    const lr = o.lr(step, totalSteps);
    const res = await o.gradients.compute(chunks, step, seeds, { optimizer: o.optimizer, lr, clip });
    const grads = res.grads;
    let gradNorm: number;
    try {
      if (!Number.isFinite(res.loss)) throw new NonFiniteLossError(step + 1, 'loss', res.loss);
      if (res.flat) {
        // Flat gradients (worker threads): the norm came with the average; clipping is a scale folded into
        // the optimizer's single pass over the weights.
        gradNorm = Math.sqrt(res.flat.sumSquares);
        if (!Number.isFinite(gradNorm)) throw new NonFiniteLossError(step + 1, 'gradient norm', gradNorm);
        if (!res.flat.updated) o.optimizer.applyFlat(res.flat.layout, res.flat.params, res.flat.grads, lr, clipScale(gradNorm, clip));
      } else {
        gradNorm = await globalNorm(grads);
        if (!Number.isFinite(gradNorm)) throw new NonFiniteLossError(step + 1, 'gradient norm', gradNorm);
        o.optimizer.apply(o.params, grads, lr, clipScale(gradNorm, clip));
      }
    } finally {
      for (const g of Object.values(grads)) g.dispose();
    }
    if (o.gradients.paramsUpdated) await o.gradients.paramsUpdated();
    step += 1;
    stepsThisCall += 1;
    tokensSeen += tokens;
    lastLoss = res.loss;
    const stepSeconds = (performance.now() - ts) / 1000;
    if (stepsThisCall > 1) {
      timedSeconds += stepSeconds;
      timedTokens += tokens;
    }
    recent.push({ s: stepSeconds, tokens });
    if (recent.length > 20) recent.shift();
    const window = recent.length > 1 ? recent.slice(1) : recent;
    const winSec = window.reduce((a, r) => a + r.s, 0);
    const tokensPerSec = window.reduce((a, r) => a + r.tokens, 0) / Math.max(winSec, 1e-9);
    const avgStep = winSec / window.length;

    // Time budget: set totalSteps from the measured speed, first after a few steps, then once more when a
    // fifth of the budget has passed (the first steps include warm-up and JIT time, so they mislead).
    if (o.maxSeconds !== undefined && o.planStepsFromBudget && planStage < 2) {
      const due = planStage === 0 ? stepsThisCall >= 6 : elapsed() >= o.maxSeconds * 0.2;
      if (due) {
        planStage += 1;
        const remaining = o.maxSeconds - elapsed();
        const more = Math.max(0, Math.floor(remaining / avgStep));
        totalSteps = Math.max(step + 1, Math.min(o.totalSteps, step + more));
        o.onPlan?.(totalSteps);
      }
    }
    const mfu = o.flopsPerToken && o.peakGflops ? (tokensPerSec * o.flopsPerToken) / (o.peakGflops * 1e9) : null;
    o.onStep?.({
      step,
      totalSteps,
      loss: res.loss,
      parts: res.parts ?? {},
      lr,
      gradNorm: gradNorm!,
      tokens,
      tokensSeen,
      stepSeconds,
      tokensPerSec,
      mfu,
      elapsedSeconds: elapsed(),
      etaSeconds: (totalSteps - step) * avgStep,
    });

    // One turn of the event loop per step: signal handlers (Ctrl-C) and I/O callbacks run here; a loop made
    // only of resolved promises would never let them in.
    await new Promise<void>((r) => setImmediate(r));
    const last = step >= totalSteps;
    const interrupted = o.shouldStop?.() ?? false;
    const outOfTime = o.maxSeconds !== undefined && elapsed() >= o.maxSeconds * (o.planStepsFromBudget ? 1.1 : 1);
    if (o.evaluate && o.evalEvery && (step % o.evalEvery === 0 || last)) await o.evaluate(step);
    if (interrupted) {
      reason = 'interrupted';
      if (o.checkpoint) await o.checkpoint(step, 'interrupt');
      break;
    }
    if (outOfTime && !last) {
      reason = 'time';
      if (o.evaluate && o.evalEvery && step % o.evalEvery !== 0) await o.evaluate(step);
      if (o.checkpoint) await o.checkpoint(step, 'end');
      break;
    }
    if (o.checkpoint && (last || (o.checkpointEvery && step % o.checkpointEvery === 0))) {
      await o.checkpoint(step, last ? 'end' : 'interval');
    }
  }
  return {
    step,
    totalSteps,
    tokensSeen,
    lastLoss,
    reason,
    seconds: (performance.now() - t0) / 1000,
    tokensPerSec: timedSeconds > 0 ? timedTokens / timedSeconds : 0,
  };
}
