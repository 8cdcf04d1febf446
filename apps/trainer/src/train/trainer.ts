// The shared trainer (TRL's Trainer in spirit): one run directory and one loop for every training method.
// A method — pretraining, GPT-1 fine-tuning, and next SFT, reward modelling, PPO, DPO — supplies only what
// is its own: the parameters, a loss (through a GradientSource), the batches, an evaluation and how to save
// its model. The Trainer adds the rest: AdamW on a schedule with clipping, metrics.jsonl and the loss plot,
// the progress line, atomic checkpoints and exact resume, the time budget, stop requests (Ctrl-C), and the
// stop on a non-finite loss.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tf } from '@gptlab/tensor';
import { AdamW, type AdamWOptions } from './adamw';
import { listCheckpoints, loadOptimizer, saveCheckpoint, type TrainerState } from './checkpoint';
import type { GradientSource } from './gradients';
import { trainLoop, NonFiniteLossError, type StepBatches, type StepRecord, type StopReason } from './loop';
import { MetricsLog, lossCurveSvg } from './metrics';
import { Progress } from './progress';
import { TensorBoardWriter } from './tensorboard';
import { writeFileAtomic } from '@gptlab/common/node';

/** Where a method's batches come from; its state is the data position a checkpoint saves. */
export interface BatchSource<B> {
  /** The micro-batches of 0-based step `step` (a promise where an outer phase comes first, e.g. PPO's rollouts). */
  next(step: number): StepBatches<B> | Promise<StepBatches<B>>;
  /** JSON-serialisable state (null for sources that are a pure function of the step). */
  getState(): unknown;
  setState(state: unknown): void;
}

export interface EvalResult {
  /** Validation loss: plotted, and a non-finite one stops the run. */
  loss?: number;
  /** What metrics.jsonl records, e.g. {val_loss, val_ppl, sample} or {dev_loss, dev_accuracy}. */
  metrics: Record<string, number | string>;
  /** Printed after "eval step N: ", and in the final "done:" line. */
  line: string;
  /** Printed after the line at evaluation time only (e.g. a sample). */
  note?: string;
}

/** What one training method supplies. The Trainer disposes `gradients` when the run ends. */
export interface TrainingMethod<B> {
  params: Record<string, tf.Variable>;
  gradients: GradientSource<B>;
  batches: BatchSource<B>;
  evaluate?: (step: number) => Promise<EvalResult>;
  /** Writes the model (and whatever else a resume needs: a task head, the tokenizer) into `dir`. */
  saveModel: (dir: string, step: number) => Promise<void>;
  /** Files copied into every checkpoint (e.g. tokenizer.json). */
  files?: string[];
  /** Model FLOPs per trained token and the peak of the gradient workers, for MFU. */
  flopsPerToken?: number;
  peakGflops?: number;
}

export interface TrainerOptions {
  outDir: string;
  /** The run's settings: written to config.json and saved in checkpoints (what --resume continues with). */
  config: Record<string, unknown>;
  /** More for config.json only (e.g. the resolved model configuration). */
  describe?: Record<string, unknown>;
  optimizer: AdamWOptions;
  /** Learning rate of 0-based step `step` in a run of `totalSteps`. */
  schedule: (step: number, totalSteps: number) => number;
  totalSteps: number;
  /** Global-norm clip (0 = off). */
  clip: number;
  evalEvery: number;
  checkpointEvery: number;
  keepCheckpoints: number;
  /** Steps between progress lines when stderr is not a terminal. */
  logEvery: number;
  /** Time budget: after a few steps the step count is set to fit it (not when resuming). */
  minutes?: number;
  /** Continue from this checkpoint; the method has already loaded its model weights from it. */
  resume?: { dir: string; state: TrainerState };
  /** Also log the scalars as TensorBoard event files in this folder. */
  tensorboard?: string;
}

export interface TrainerHooks {
  onStep?: (record: StepRecord) => void;
  /** Polled after each step: true stops the run with a checkpoint (Ctrl-C, tests). */
  shouldStop?: () => boolean;
}

export interface TrainResult {
  runDir: string;
  checkpoint: string | null;
  step: number;
  totalSteps: number;
  reason: StopReason;
  trainLoss: number;
  lastEval: EvalResult | null;
  /** Mean tokens/s of this call after its first step. */
  tokensPerSec: number;
  mfu: number | null;
  seconds: number;
}

/** A run stopped by a non-finite loss, gradient or weights; exit code 3. */
export class TrainingDiverged extends Error {
  readonly exitCode = 3;
  constructor(message: string) {
    super(message);
    this.name = 'TrainingDiverged';
  }
}

type Log = { stderr: (s: string) => void; isTTY: boolean };

export class Trainer<B> {
  readonly runDir: string;
  readonly optimizer: AdamW;
  private readonly metrics: MetricsLog;
  private readonly progress: Progress;
  private lastEval: EvalResult | null = null;
  private tensorboard: TensorBoardWriter | null = null;
  private lastCheckpoint: string | null;
  private totalSteps: number;
  private tokensSeen: number;
  private elapsed: number;

  constructor(
    private readonly method: TrainingMethod<B>,
    private readonly o: TrainerOptions,
    private readonly io: Log,
    private readonly hooks: TrainerHooks = {},
  ) {
    this.runDir = path.resolve(o.outDir);
    this.optimizer = new AdamW(o.optimizer);
    this.metrics = new MetricsLog(path.join(this.runDir, 'metrics.jsonl'));
    this.progress = new Progress(io.stderr, io.isTTY, o.logEvery);
    this.lastCheckpoint = o.resume?.dir ?? null;
    this.totalSteps = o.totalSteps;
    this.tokensSeen = o.resume?.state.tokensSeen ?? 0;
    this.elapsed = o.resume?.state.elapsedSeconds ?? 0;
  }

  private log(s: string): void {
    this.io.stderr(s + '\n');
  }

  private writePlot(): void {
    writeFileAtomic(path.join(this.runDir, 'loss.svg'), lossCurveSvg(this.metrics.read(), `loss · ${path.basename(this.runDir)}`));
  }

  private async evaluate(step: number): Promise<void> {
    const r = await this.method.evaluate!(step);
    if (r.loss !== undefined && !Number.isFinite(r.loss)) throw new NonFiniteLossError(step, 'validation loss', r.loss);
    this.lastEval = r;
    this.metrics.append({ type: 'eval', step, ...(r.loss !== undefined ? { val_loss: r.loss } : {}), ...r.metrics });
    const numeric = Object.entries(r.metrics).filter((e): e is [string, number] => typeof e[1] === 'number');
    this.tensorboard?.scalars(step, { ...(r.loss !== undefined ? { 'val/loss': r.loss } : {}), ...prefixed('val/', numeric) });
    this.writePlot();
    this.progress.log(`eval step ${step}: ${r.line}${r.note ? ` · ${r.note}` : ''}`);
  }

  private async checkpoint(step: number, reason: string): Promise<void> {
    // Never save weights that went non-finite in the last update: the previous checkpoint stays the last good one.
    const total = tf.tidy(() => tf.addN(Object.values(this.method.params).map((v) => tf.sum(v))));
    const sum = (await total.data())[0]!;
    total.dispose();
    if (!Number.isFinite(sum)) throw new NonFiniteLossError(step, 'weights', sum);
    this.lastCheckpoint = await saveCheckpoint({
      runDir: this.runDir,
      step,
      saveModel: (dir) => this.method.saveModel(dir, step),
      optimizer: this.optimizer,
      state: {
        totalSteps: this.totalSteps,
        tokensSeen: this.tokensSeen,
        elapsedSeconds: this.elapsed,
        samplerState: this.method.batches.getState(),
        config: this.o.config,
        extra: { reason, valLoss: this.lastEval?.loss ?? null },
      },
      files: this.method.files,
      keep: this.o.keepCheckpoints,
    });
    this.progress.log(`checkpoint: ${displayPath(this.lastCheckpoint)} (step ${step}${reason === 'interrupt' ? ', interrupted' : ''})`);
  }

  /** Runs to the planned step (or the time budget, or a stop request) and releases the optimizer and gradients. */
  async train(): Promise<TrainResult> {
    const { o, method } = this;
    const resume = o.resume;
    fs.mkdirSync(this.runDir, { recursive: true });
    if (resume) {
      await loadOptimizer(resume.dir, this.optimizer, method.params, resume.state.optimizer.step);
      method.batches.setState(resume.state.samplerState);
      this.metrics.truncateAfter(resume.state.step);
    } else fs.rmSync(this.metrics.file, { force: true });
    writeFileAtomic(path.join(this.runDir, 'config.json'), JSON.stringify({ ...o.config, ...o.describe }, null, 2) + '\n');
    this.log(`run: ${this.runDir}${resume ? ` · resuming from ${resume.dir} at step ${resume.state.step}` : ''}`);
    if (o.tensorboard) {
      this.tensorboard = new TensorBoardWriter(path.resolve(o.tensorboard));
      this.log(`tensorboard: ${this.tensorboard.file}`);
    }
    const t0 = performance.now();
    try {
      const res = await trainLoop<B>({
        params: method.params,
        gradients: method.gradients,
        optimizer: this.optimizer,
        lr: o.schedule,
        totalSteps: this.totalSteps,
        startStep: resume?.state.step ?? 0,
        startTokens: this.tokensSeen,
        startSeconds: this.elapsed,
        clipNorm: o.clip,
        batches: (step) => method.batches.next(step),
        maxSeconds: o.minutes !== undefined ? o.minutes * 60 : undefined,
        planStepsFromBudget: o.minutes !== undefined && !resume,
        onPlan: (n) => {
          this.totalSteps = n;
          this.progress.log(`time budget ${o.minutes} min: ${n} steps planned`);
        },
        evalEvery: o.evalEvery,
        evaluate: method.evaluate ? (step) => this.evaluate(step) : undefined,
        checkpointEvery: o.checkpointEvery,
        checkpoint: (step, reason) => this.checkpoint(step, reason),
        flopsPerToken: method.flopsPerToken,
        peakGflops: method.peakGflops,
        shouldStop: this.hooks.shouldStop,
        onStep: (r) => this.onStep(r),
      });
      this.progress.end();
      this.writePlot();
      const seconds = (performance.now() - t0) / 1000;
      const mfu = method.flopsPerToken && method.peakGflops ? (res.tokensPerSec * method.flopsPerToken) / (method.peakGflops * 1e9) : null;
      const result: TrainResult = {
        runDir: this.runDir,
        checkpoint: this.lastCheckpoint,
        step: res.step,
        totalSteps: res.totalSteps,
        reason: res.reason,
        trainLoss: res.lastLoss,
        lastEval: this.lastEval,
        tokensPerSec: res.tokensPerSec,
        mfu: res.tokensPerSec > 0 ? mfu : null,
        seconds,
      };
      this.log(doneLine(result));
      this.log(
        `files: ${this.metrics.file} · ${path.join(this.runDir, 'loss.svg')}${this.lastCheckpoint ? ` · ${this.lastCheckpoint}` : ''}`,
      );
      return result;
    } catch (e) {
      this.progress.end();
      if (e instanceof NonFiniteLossError) {
        this.writePlot();
        throw this.diverged(e);
      }
      throw e;
    } finally {
      await method.gradients.dispose();
      this.optimizer.dispose();
      this.tensorboard?.close();
    }
  }

  private onStep(r: StepRecord): void {
    this.tokensSeen = r.tokensSeen;
    this.elapsed = r.elapsedSeconds;
    this.metrics.append({
      type: 'train',
      step: r.step,
      loss: r.loss,
      ...r.parts,
      lr: r.lr,
      grad_norm: r.gradNorm,
      tokens: r.tokensSeen,
      tokens_per_sec: Math.round(r.tokensPerSec),
      mfu: r.mfu === null ? null : Number(r.mfu.toFixed(4)),
      elapsed_s: Number(r.elapsedSeconds.toFixed(2)),
    });
    this.tensorboard?.scalars(r.step, {
      'train/loss': r.loss,
      ...prefixed('train/', Object.entries(r.parts)),
      'train/lr': r.lr,
      'train/grad_norm': r.gradNorm,
      'train/tokens_per_sec': r.tokensPerSec,
    });
    this.progress.step(r);
    this.hooks.onStep?.(r);
  }

  private diverged(e: NonFiniteLossError): TrainingDiverged {
    const good = listCheckpoints(this.runDir);
    const last = good.length ? good[good.length - 1]! : null;
    return new TrainingDiverged(
      `${e.message}: training stopped. ` +
        (last
          ? `The last good checkpoint is ${last.dir} (step ${last.step}); resume with --resume ${this.runDir} (a lower --lr may help).`
          : 'No checkpoint was saved before it (try a lower --lr or more warm-up).'),
    );
  }
}

function doneLine(r: TrainResult): string {
  return (
    `done: step ${r.step}/${r.totalSteps}${r.reason !== 'done' ? ` (${r.reason})` : ''} · train loss ${r.trainLoss.toFixed(4)}` +
    (r.lastEval ? ` · ${r.lastEval.line}` : '') +
    ` · ${Math.round(r.tokensPerSec).toLocaleString('en-US')} tok/s` +
    (r.mfu !== null ? ` · MFU ${(100 * r.mfu).toFixed(1)}%` : '') +
    ` · ${r.seconds.toFixed(1)}s`
  );
}

/** TensorBoard tags: "train/loss", "val/val_ppl" — the prefix groups a run's charts. */
function prefixed(prefix: string, entries: [string, number][]): Record<string, number> {
  return Object.fromEntries(entries.map(([k, v]) => [prefix + k, v]));
}

function displayPath(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith('..') ? rel : p;
}
