// Near-duplicate removal throughput: the single-process path (`data dedup`) against the queued path with 1 and
// 2 local workers (`data dedup --queue`, a redis-server started here), on WordNet's glosses as JSONL.
// MB/s = input bytes / wall seconds of the command (process start included on both sides). Prints one JSON
// line per setup and a summary line with the ratios. Needs the built CLI (dist/) and redis-server.
//   pnpm --filter @gptlab/trainer bench:queue [-- --docs 50000 --chunk-docs 5000]
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { emit, machine, parseFlags } from '@gptlab/bench-utils';
import { wordnetDocs } from '@gptlab/data';
import { startLocalRedis } from '../src/queue/local-redis';

const flags = parseFlags();
const maxDocs = Number(flags.docs ?? 120000);
const chunkDocs = String(flags['chunk-docs'] ?? 5000);
const cli = path.resolve('dist', 'cli.js');
if (!fs.existsSync(cli)) throw new Error(`${cli} missing: run pnpm --filter @gptlab/trainer build`);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gptlab-bench-queue-'));
const input = path.join(dir, 'wordnet.jsonl');
const lines: string[] = [];
for (const d of wordnetDocs()) {
  if (lines.length >= maxDocs) break;
  lines.push(JSON.stringify({ id: d.id, text: d.text }));
}
fs.writeFileSync(input, lines.join('\n') + '\n');
const mb = fs.statSync(input).size / 1e6;

function dedup(label: string, extra: string[]): { setup: string; seconds: number; mb_per_s: number; out: string } {
  const out = path.join(dir, `${label.replace(/\W+/g, '-')}.jsonl`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [cli, 'data', 'dedup', '--input', input, '--out', out, ...extra], { encoding: 'utf8' });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${label}: ${r.stderr.trim().split('\n').pop()}`);
  const rec = {
    bench: 'queue-dedup',
    setup: label,
    docs: lines.length,
    mb: Number(mb.toFixed(2)),
    seconds: Number(seconds.toFixed(2)),
    mb_per_s: Number((mb / seconds).toFixed(3)),
  };
  emit({ ...rec, machine: machine() });
  return { ...rec, out };
}

async function main(): Promise<void> {
  const local = dedup('single process', []);
  const redis = await startLocalRedis();
  const results: Record<number, ReturnType<typeof dedup>> = {};
  try {
    for (const n of [1, 2]) {
      const workers = Array.from({ length: n }, () =>
        spawn(process.execPath, [cli, 'data', 'worker', '--queue', redis.url], { stdio: 'ignore' }),
      );
      try {
        results[n] = dedup(`queue, ${n} worker${n > 1 ? 's' : ''}`, [
          '--queue',
          redis.url,
          '--chunk-docs',
          chunkDocs,
          '--work-dir',
          path.join(dir, 'work'),
        ]);
        // the queued output must be the local one, or the timing means nothing
        if (!fs.readFileSync(results[n]!.out).equals(fs.readFileSync(local.out)))
          throw new Error(`queue with ${n} workers: output differs`);
      } finally {
        for (const w of workers) w.kill('SIGTERM');
        await Promise.all(workers.map((w) => new Promise((r) => (w.exitCode !== null ? r(null) : w.once('exit', r)))));
      }
    }
  } finally {
    await redis.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  emit({
    bench: 'queue-dedup-summary',
    docs: lines.length,
    mb: Number(mb.toFixed(2)),
    single_mb_per_s: local.mb_per_s,
    queue1_mb_per_s: results[1]!.mb_per_s,
    queue2_mb_per_s: results[2]!.mb_per_s,
    queue1_vs_single: Number((results[1]!.mb_per_s / local.mb_per_s).toFixed(3)),
    queue2_vs_single: Number((results[2]!.mb_per_s / local.mb_per_s).toFixed(3)),
    queue2_vs_queue1: Number((results[2]!.mb_per_s / results[1]!.mb_per_s).toFixed(3)),
    machine: machine(),
  });
}

void main();
