// `gptlab-train data status --queue URL`: progress of the queued runs per stage, read from BullMQ's own job
// states (nothing else is tracked), plus the workers connected to the queue.
import { Queue, type Job, type JobType } from 'bullmq';
import { QUEUE_NAME, STAGES, checkReachable, redisConnection, type TaskData } from './protocol';

export interface StageProgress {
  stage: string;
  total: number;
  done: number;
  active: number;
  waiting: number;
  failed: number;
  /** Tasks started more than once (a failure, or a worker that died mid-task). */
  retried: number;
}

export interface RunProgress {
  run: string;
  startedAt: string;
  stages: StageProgress[];
}

export interface QueueStatus {
  url: string;
  /** Connected worker processes, as host:pid. */
  workers: string[];
  runs: RunProgress[];
}

const STATES: Record<string, keyof Pick<StageProgress, 'done' | 'active' | 'waiting' | 'failed'>> = {
  completed: 'done',
  active: 'active',
  waiting: 'waiting',
  'waiting-children': 'waiting',
  delayed: 'waiting',
  prioritized: 'waiting',
  paused: 'waiting',
  failed: 'failed',
};

/** Per-stage progress of the newest `maxRuns` runs on the queue. */
export async function queueStatus(url: string, maxRuns = 3): Promise<QueueStatus> {
  await checkReachable(url);
  const queue = new Queue(QUEUE_NAME, { connection: redisConnection(url) });
  let lost: Error | undefined;
  queue.on('error', (e) => (lost ??= e)); // reported below if a call fails, not as an unhandled 'error' event
  try {
    const runs = new Map<string, { started: number; stages: Map<string, StageProgress> }>();
    for (const [state, field] of Object.entries(STATES)) {
      const jobs = (await queue.getJobs([state as JobType], 0, -1)) as (Job<TaskData> | undefined)[];
      for (const job of jobs) {
        const d = job?.data;
        if (!job || !d?.run || d.stage === 'barrier') continue;
        let r = runs.get(d.run);
        if (!r) runs.set(d.run, (r = { started: job.timestamp, stages: new Map() }));
        r.started = Math.min(r.started, job.timestamp);
        let s = r.stages.get(d.stage);
        if (!s) r.stages.set(d.stage, (s = { stage: d.stage, total: 0, done: 0, active: 0, waiting: 0, failed: 0, retried: 0 }));
        s.total++;
        s[field]++;
        if (job.attemptsStarted > 1 || job.stalledCounter > 0) s.retried++;
      }
    }
    // each worker process holds two named connections (commands and blocking reads): count the names
    const workers = [...new Set((await queue.getWorkers()).map((w) => String(w.rawname ?? '').split(':w:')[1] ?? '?'))].sort();
    const ordered = [...runs.entries()].sort((a, b) => b[1].started - a[1].started).slice(0, maxRuns);
    return {
      url,
      workers,
      runs: ordered.map(([run, r]) => ({
        run,
        startedAt: new Date(r.started).toISOString(),
        stages: STAGES.filter((s) => r.stages.has(s)).map((s) => r.stages.get(s)!),
      })),
    };
  } catch (e) {
    throw lost ? new Error(`Redis ${url}: ${lost.message}`) : e;
  } finally {
    await queue.close();
  }
}

/** The status as lines for people. */
export function statusLines(s: QueueStatus): string[] {
  const lines = [`queue ${QUEUE_NAME} on ${s.url}: ${s.workers.length} worker(s)${s.workers.length ? ` (${s.workers.join(', ')})` : ''}`];
  if (!s.runs.length) lines.push('no runs');
  for (const r of s.runs) {
    lines.push(
      ``,
      `run ${r.run} (started ${r.startedAt})`,
      `  ${'stage'.padEnd(10)}${'done'.padStart(11)}${'active'.padStart(8)}${'waiting'.padStart(9)}${'failed'.padStart(8)}${'retried'.padStart(9)}`,
    );
    for (const st of r.stages)
      lines.push(
        `  ${st.stage.padEnd(10)}${`${st.done}/${st.total}`.padStart(11)}${String(st.active).padStart(8)}${String(st.waiting).padStart(9)}${String(st.failed).padStart(8)}${String(st.retried).padStart(9)}`,
      );
  }
  return lines;
}
