// Load on loopback: the tiny fixture behind `serve`'s defaults (queue 256, timeout 120 s), first one client
// sending requests one after another, then `--clients` (200) at once, half JSON and half SSE, all via
// POST /v1/completions. Reports per-request latency (p50/p99), aggregate generated tokens/s, and how many
// were not answered in full (non-2xx status, or a stream without its [DONE]). Bounded: a fixed number of
// requests of a fixed length (EOS banned so each reply has exactly --load-tokens tokens) and a wall-clock cap.
// The whole run repeats for each --max-batch value (default `8,1`: continuous batching, then one generation at a
// time), and a last record compares the first setting with the last.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { emit, type MachineInfo } from '@gptlab/bench-utils';
import { DEFAULT_MAX_BATCH, type ModelBatchEngine } from '../src/batch-engine';
import { realRegistry, type RealModel } from '../src/real';
import { createServer } from '../src/server';

interface Outcome {
  ok: boolean;
  seconds: number;
  tokens: number;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}

async function request(url: string, body: object, stream: boolean, signal: AbortSignal): Promise<Outcome> {
  const t0 = performance.now();
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, stream, stream_options: stream ? { include_usage: true } : undefined }),
      signal,
    });
    const text = await res.text();
    const seconds = (performance.now() - t0) / 1000;
    if (!res.ok) return { ok: false, seconds, tokens: 0 };
    if (!stream)
      return { ok: true, seconds, tokens: (JSON.parse(text) as { usage: { completion_tokens: number } }).usage.completion_tokens };
    // The usage chunk precedes [DONE]: a complete stream has both.
    const events = text.trim().split('\n\n');
    if (events[events.length - 1] !== 'data: [DONE]') return { ok: false, seconds, tokens: 0 };
    const usage = JSON.parse(events[events.length - 2]!.slice(6)) as { usage: { completion_tokens: number } };
    return { ok: true, seconds, tokens: usage.usage.completion_tokens };
  } catch {
    return { ok: false, seconds: (performance.now() - t0) / 1000, tokens: 0 };
  }
}

function summarize(
  name: string,
  clients: number,
  outcomes: Outcome[],
  wall: number,
  machine: MachineInfo,
  extra: Record<string, unknown> = {},
) {
  const ok = outcomes.filter((o) => o.ok);
  const tokens = ok.reduce((a, o) => a + o.tokens, 0);
  const record = {
    bench: name,
    clients,
    requests: outcomes.length,
    not_answered: outcomes.length - ok.length,
    p50_s: percentile(
      ok.map((o) => o.seconds),
      50,
    ),
    p99_s: percentile(
      ok.map((o) => o.seconds),
      99,
    ),
    tokens_per_s: tokens / wall,
    wall_s: wall,
    ...extra,
    machine,
  };
  emit(record);
  return record;
}

interface LoadSettings {
  clients: number;
  newTokens: number;
  singleRequests: number;
  warmup: number;
  capSeconds: number;
}

type LoadRecord = ReturnType<typeof summarize>;

type EngineStats = NonNullable<ModelBatchEngine['stats']>;

function engineDelta(after: EngineStats, before: EngineStats) {
  const steps = after.steps - before.steps;
  return {
    engine_steps: steps,
    engine_rows_per_step: (after.tokens - before.tokens) / steps,
    engine_step_ms: (after.stepMs - before.stepMs) / steps,
    engine_prefill_s: (after.prefillMs - before.prefillMs) / 1000,
    engine_pick_s: (after.pickMs - before.pickMs) / 1000,
  };
}

/** One server with `maxBatch`: 1 client, then `clients` at once. */
async function loadRun(
  models: string,
  maxBatch: number,
  o: LoadSettings,
  machine: MachineInfo,
): Promise<{ one: LoadRecord; many: LoadRecord }> {
  const registry = realRegistry(models, { maxBatch });
  const app = await createServer({
    registry,
    uiDir: path.resolve('src', 'ui'),
    browserBundleDir: path.resolve('dist', 'browser'),
  });
  try {
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `${address}/v1/completions`;
    const eos = (JSON.parse(fs.readFileSync(path.join(models, 'tiny', 'config.json'), 'utf8')) as { eos_token_id: number }).eos_token_id;
    const body = { model: 'tiny', prompt: 'the cat sat on the mat', max_tokens: o.newTokens, temperature: 0, logit_bias: { [eos]: -100 } };
    const signal = AbortSignal.timeout(o.capSeconds * 1000);
    // Loads the model and warms both paths (JSON, SSE): the first forwards of a shape compile wasm kernels.
    for (let i = 0; i < o.warmup; i++) await request(url, body, i % 2 === 1, signal);

    const single: Outcome[] = [];
    let t0 = performance.now();
    for (let i = 0; i < o.singleRequests; i++) single.push(await request(url, body, i % 2 === 1, signal));
    const extra = { new_tokens: o.newTokens, max_batch: maxBatch };
    const one = summarize('load_1_client', 1, single, (performance.now() - t0) / 1000, machine, extra);

    const engine = ((await registry.load('tiny')) as RealModel).batch;
    const before = engine?.stats;
    t0 = performance.now();
    const all = await Promise.all(Array.from({ length: o.clients }, (_, i) => request(url, body, i % 2 === 1, signal)));
    const wall = (performance.now() - t0) / 1000;
    const many = summarize(`load_${o.clients}_clients`, o.clients, all, wall, machine, {
      ...extra,
      json_clients: Math.ceil(o.clients / 2),
      sse_clients: Math.floor(o.clients / 2),
      sse_not_answered: all.filter((r, i) => i % 2 === 1 && !r.ok).length,
      // Where the batch engine's time went during the burst: batched steps, prompt prefills, token picking.
      ...(engine?.stats && before ? engineDelta(engine.stats, before) : {}),
    });
    emit({
      bench: `load_${o.clients}_clients_vs_1_client`,
      max_batch: maxBatch,
      tokens_per_s_ratio: many.tokens_per_s / one.tokens_per_s,
      p50_ratio: many.p50_s / one.p50_s,
      p99_ratio: many.p99_s / one.p99_s,
      machine,
    });
    return { one, many };
  } finally {
    app.server.closeAllConnections();
    await app.close();
  }
}

export async function loadBench(flags: Record<string, string | true>, machine: MachineInfo): Promise<void> {
  const settings: LoadSettings = {
    clients: Number(flags.clients ?? 200),
    newTokens: Number(flags['load-tokens'] ?? 16),
    singleRequests: Number(flags['single-requests'] ?? 10),
    warmup: Number(flags['load-warmup'] ?? 6),
    capSeconds: Number(flags['load-cap-s'] ?? 600),
  };
  const batches = String(flags['max-batch'] ?? `${DEFAULT_MAX_BATCH},1`)
    .split(',')
    .map(Number);
  if (batches.some((b) => !Number.isInteger(b) || b < 1)) throw new Error(`--max-batch: expected positive integers like 8,1`);
  const models = fs.mkdtempSync(path.join(os.tmpdir(), 'playground-load-'));
  fs.cpSync(path.resolve('test', 'fixtures', 'tiny'), path.join(models, 'tiny'), { recursive: true });
  try {
    const runs: { maxBatch: number; many: LoadRecord }[] = [];
    for (const maxBatch of batches) runs.push({ maxBatch, ...(await loadRun(models, maxBatch, settings, machine)) });
    if (runs.length >= 2) {
      const [a, b] = [runs[0]!, runs[runs.length - 1]!];
      emit({
        bench: `load_${settings.clients}_clients_max_batch_${a.maxBatch}_vs_${b.maxBatch}`,
        tokens_per_s_ratio: a.many.tokens_per_s / b.many.tokens_per_s,
        p50_ratio: a.many.p50_s / b.many.p50_s,
        p99_ratio: a.many.p99_s / b.many.p99_s,
        machine,
      });
    }
  } finally {
    fs.rmSync(models, { recursive: true, force: true });
  }
}
