// The coordinator's side of a queued run: each stage is one BullMQ flow — a barrier job whose children are the
// stage's tasks — added when the stage before it is done. Tasks retry (a failure, or a dead worker's stalled
// job); a task that keeps failing fails its barrier and the run stops with that task's reason.
import { FlowProducer, Job, Queue } from 'bullmq';
import type { CommandIO } from '../cli/command';
import {
  QUEUE_NAME,
  STAGES,
  TASK_VERSION,
  checkReachable,
  redisConnection,
  taskId,
  type RunSpec,
  type StageName,
  type TaskData,
} from './protocol';
import type { TaskStorage } from './storage';

/** Finished jobs stay a week (what `data status` reads), then Redis drops them. */
const KEEP_JOBS = { removeOnComplete: { age: 7 * 86400 }, removeOnFail: { age: 7 * 86400 } };

export interface StageRunnerOptions {
  url: string;
  store: TaskStorage;
  spec: RunSpec;
  io: Pick<CommandIO, 'stderr'>;
  /** Attempts per task before the run fails (default 3). */
  attempts?: number;
  /** How often the coordinator polls the stage's progress (default 200 ms). */
  pollMs?: number;
}

export class StageRunner {
  private readonly flow: FlowProducer;
  private readonly queue: Queue;
  private constructor(private readonly opts: StageRunnerOptions) {
    const connection = redisConnection(opts.url);
    this.flow = new FlowProducer({ connection });
    this.queue = new Queue(QUEUE_NAME, { connection });
    // A lost connection is retried by the client; say so once instead of dying on an unhandled 'error' event.
    let last = '';
    const onError = (e: Error) => {
      if (e.message !== last) opts.io.stderr(`queue: Redis ${opts.url}: ${e.message} (retrying)\n`);
      last = e.message;
    };
    this.flow.on('error', onError);
    this.queue.on('error', onError);
  }
  static async open(opts: StageRunnerOptions): Promise<StageRunner> {
    await checkReachable(opts.url);
    return new StageRunner(opts);
  }
  get spec(): RunSpec {
    return this.opts.spec;
  }
  /** Runs `count` tasks of a stage and returns their results in task order. */
  async run<T>(stage: StageName, count: number): Promise<T[]> {
    const { spec, store, io } = this.opts;
    // Tasks read the spec as it is now (chunk offsets are filled in after the clean stage).
    const specKey = `spec/${stage}.json`;
    await store.write(specKey, JSON.stringify(spec));
    const data = (index: number, s: TaskData['stage'] = stage): TaskData => ({
      v: TASK_VERSION,
      run: spec.run,
      store: store.location,
      specKey,
      stage: s,
      index,
    });
    const parentId = taskId(spec.run, stage, 'done');
    const t0 = performance.now();
    await this.flow.add({
      name: `${stage}:done`,
      queueName: QUEUE_NAME,
      data: data(-1, 'barrier'),
      opts: { jobId: parentId, ...KEEP_JOBS },
      children: Array.from({ length: count }, (_, i) => ({
        name: stage,
        queueName: QUEUE_NAME,
        data: data(i),
        opts: {
          jobId: taskId(spec.run, stage, i),
          attempts: this.opts.attempts ?? 3,
          backoff: { type: 'fixed', delay: 500 },
          failParentOnFailure: true,
          ...KEEP_JOBS,
        },
      })),
    });
    let shown = -1;
    for (;;) {
      const job = await Job.fromId(this.queue, parentId);
      if (!job) throw new Error(`stage ${stage} of run ${spec.run}: its barrier job ${parentId} disappeared from the queue`);
      const state = await job.getState();
      if (state === 'completed') {
        const values = job.returnvalue as Record<string, T>;
        io.stderr(`queue: ${stage} ${count}/${count} tasks done in ${((performance.now() - t0) / 1000).toFixed(1)}s\n`);
        return Array.from({ length: count }, (_, i) => {
          const v = values[`${this.queue.qualifiedName}:${taskId(spec.run, stage, i)}`];
          if (v === undefined) throw new Error(`stage ${stage}: no result from task ${i}`);
          return v;
        });
      }
      if (state === 'failed') throw new Error(`stage ${stage} of run ${spec.run} failed: ${await this.failure(stage, count, job)}`);
      const { processed = 0 } = await job.getDependenciesCount({ processed: true });
      if (processed !== shown && processed > 0 && processed < count) io.stderr(`queue: ${stage} ${processed}/${count} tasks done\n`);
      shown = processed;
      await new Promise((r) => setTimeout(r, this.opts.pollMs ?? 200));
    }
  }
  /** The reason of the first failed task of a stage (the barrier only says which child failed). */
  private async failure(stage: StageName, count: number, parent: Job): Promise<string> {
    for (let i = 0; i < count; i++) {
      const child = await Job.fromId(this.queue, taskId(this.opts.spec.run, stage, i));
      if (child && (await child.getState()) === 'failed') return `task ${child.id}: ${child.failedReason}`;
    }
    return parent.failedReason ?? 'unknown reason';
  }
  async close(): Promise<void> {
    await this.flow.close();
    await this.queue.close();
  }
}

/** Stages a run uses, in order. */
export function stagesOf(spec: Pick<RunSpec, 'near' | 'kind'>): StageName[] {
  return STAGES.filter((s) => {
    if (s === 'buckets' || s === 'verify') return spec.near !== null;
    if (s === 'tokenise') return spec.kind === 'prepare';
    return true;
  });
}
