// What travels through Redis: the queue's name, the task format (with a version every worker checks), and the
// connection. Everything a task needs is in its data, so any worker on any machine can run any task.
import * as net from 'node:net';
import type { ConnectionOptions } from 'bullmq';
import type { ResolvedNearDedup } from '@gptlab/data';

export const QUEUE_NAME = 'gptlab-data';
/** Bumped whenever a task's data or an intermediate file changes meaning; workers refuse other versions. */
export const TASK_VERSION = 1;

/** The stages of a queued run, in order (a run uses the ones its command needs). */
export const STAGES = ['clean', 'minhash', 'buckets', 'verify', 'clusters', 'filter', 'tokenise'] as const;
export type StageName = (typeof STAGES)[number];

/** A chunk's keep mask (written by the clusters stage): one byte per cleaned document. */
export const KEEP = { kept: 1, exact: 2, near: 3 } as const;

/** Near-duplicate settings as the local run resolves them (resolveNearDedupOptions; the weights stay local). */
export type NearParams = Omit<ResolvedNearDedup, 'weights'>;

/** One input chunk: which source it came from and where its documents start in the cleaned stream. */
export interface ChunkInfo {
  key: string;
  source: number;
  /** Index of its first cleaned document in the whole run (set after the clean stage). */
  firstDoc: number;
  /** Cleaned documents in it (set after the clean stage). */
  docs: number;
}

/** Settings every task of a run shares. */
export interface RunSpec {
  run: string;
  /** TaskStorage location of the run's intermediate files. */
  store: string;
  kind: 'dedup' | 'prepare';
  /** Normalisation drops empty documents (prepare) or keeps them (dedup: kept lines are written unchanged). */
  dropEmpty: boolean;
  filter: boolean;
  near: NearParams | null;
  /** Band-bucket and verification partitions. */
  partitions: number;
  chunks: ChunkInfo[];
}

/** A job's data: small, whatever the corpus size; the run's settings are an object in the run's storage. */
export interface TaskData {
  v: number;
  run: string;
  /** TaskStorage location, and the key of the RunSpec this stage reads. */
  store: string;
  specKey: string;
  stage: StageName | 'barrier';
  /** Chunk index (per-chunk stages) or partition index (buckets, verify). */
  index: number;
}

/** Parses redis://[:password@]host:port[/db] into BullMQ connection options. */
export function redisConnection(url: string): ConnectionOptions & { host: string; port: number } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`--queue ${url}: not a URL (expected redis://HOST:PORT)`);
  }
  if (u.protocol !== 'redis:') throw new Error(`--queue ${url}: expected a redis://HOST:PORT URL`);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new Error(`--queue ${url}: bad database number "${u.pathname.slice(1)}"`);
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    db,
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    // BullMQ workers block on Redis; a command must not give up while a worker waits for jobs.
    maxRetriesPerRequest: null,
  };
}

/**
 * Fails within `timeoutMs` when nothing listens at the URL (the Redis client itself would retry forever),
 * with the URL in the message.
 */
export async function checkReachable(url: string, timeoutMs = 3000): Promise<void> {
  const { host, port } = redisConnection(url);
  await new Promise<void>((resolve, reject) => {
    const sock = net.connect({ host, port });
    const fail = (why: string) => {
      sock.destroy();
      reject(new Error(`cannot reach Redis at ${url}: ${why}`));
    };
    sock.setTimeout(timeoutMs, () => fail(`no answer within ${timeoutMs / 1000}s`));
    sock.once('error', (e) => fail(e.message));
    // A Redis server answers PING with +PONG; anything else is not the queue's Redis.
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.once('data', (d) => {
      sock.destroy();
      const s = d.toString();
      if (s.startsWith('+PONG') || s.startsWith('-NOAUTH')) resolve();
      else reject(new Error(`cannot use Redis at ${url}: it answered "${s.trim().slice(0, 80)}"`));
    });
  });
}

/** Job ids may not contain ':' in BullMQ. */
export function taskId(run: string, stage: string, index: number | 'done'): string {
  return `${run}.${stage}.${index}`;
}
