// Playground overhead: the same greedy run of the demo checkpoint called directly, through POST /api/generate
// (JSON) and through server-sent events over a real socket (time to first token, tokens/s); and the
// attention endpoint at the demo's full context; then the load benchmark (bench/load.ts: 200 concurrent
// clients on /v1). One JSON line per measurement.
//   pnpm --filter @gptlab/playground bench -- --json [--only load|overhead] [--clients 200] [--load-tokens 16]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { emit, machine, parseFlags, time } from '@gptlab/bench-utils';
import { strategyFromJSON } from '@gptlab/decoding';
import { describeBackend } from '@gptlab/tensor';
import { RealModel, realRegistry } from '../src/real';
import { createServer } from '../src/server';
import { loadBench } from './load';

async function main(): Promise<void> {
  const flags = parseFlags();
  if (flags.only === 'load') return loadBench(flags, machine());
  const iters = Number(flags.iters ?? 5);
  const newTokens = 40;
  // Run from the package directory (pnpm --filter does); tsx runs this file as ESM, without __dirname.
  const fixture = path.resolve('test', 'fixtures', 'demo');
  const models = fs.mkdtempSync(path.join(os.tmpdir(), 'playground-bench-'));
  fs.mkdirSync(path.join(models, 'demo'));
  for (const f of fs.readdirSync(fixture)) fs.copyFileSync(path.join(fixture, f), path.join(models, 'demo', f));
  const m = machine();
  const model = await RealModel.load(fixture, 'demo', { stopAtEos: false });
  const backend = describeBackend();
  const prompt = model.encode('The quick brown');
  const req = { promptIds: prompt, strategy: strategyFromJSON({ type: 'greedy', maxNewTokens: newTokens }) };

  const app = await createServer({
    registry: realRegistry(models, { stopAtEos: false }),
    uiDir: path.resolve('src', 'ui'),
    browserBundleDir: path.resolve('dist', 'browser'),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/api/generate`;
  const body = { model: 'demo', promptIds: prompt, strategy: { type: 'greedy' }, maxNewTokens: newTokens };

  const direct = async () => {
    const r = await model.generate(req);
    if (r.ids.length !== newTokens) throw new Error('short run');
  };
  const viaJson = async () => {
    const r = await app.inject({ method: 'POST', url: '/api/generate', payload: body });
    if (r.statusCode !== 200 || r.json().ids.length !== newTokens) throw new Error(r.body);
  };
  const ttft: number[] = [];
  const viaSse = async () => {
    const t0 = performance.now();
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify(body),
    });
    const reader = res.body!.getReader();
    let text = '';
    let first = true;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString();
      if (first && text.includes('event: token')) {
        ttft.push((performance.now() - t0) / 1000);
        first = false;
      }
    }
    if ((text.match(/event: token/g) ?? []).length !== newTokens) throw new Error('missing tokens');
  };
  // Interleaved rounds (the machine is shared): each round times the three ways once, after a warm-up round.
  const samples: Record<string, number[]> = { direct: [], json: [], sse: [] };
  const fns: [string, () => Promise<void>][] = [
    ['direct', direct],
    ['json', viaJson],
    ['sse', viaSse],
  ];
  for (let round = -1; round < iters; round++) {
    for (const [name, fn] of fns) {
      const t0 = performance.now();
      await fn();
      if (round >= 0) samples[name]!.push((performance.now() - t0) / 1000);
    }
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const d = med(samples.direct!);
  const j = med(samples.json!);
  const e = med(samples.sse!);
  emit({
    bench: 'generate_direct',
    model: 'demo',
    new_tokens: newTokens,
    seconds: d,
    tokens_per_s: newTokens / d,
    backend,
    rounds: iters,
    machine: m,
  });
  emit({ bench: 'generate_http_json', new_tokens: newTokens, seconds: j, tokens_per_s: newTokens / j, overhead_ratio: j / d, machine: m });
  emit({
    bench: 'generate_http_sse',
    new_tokens: newTokens,
    seconds: e,
    tokens_per_s: newTokens / e,
    time_to_first_token_s: med(ttft.slice(1)),
    overhead_ratio: e / d,
    machine: m,
  });

  const T = model.contextLength;
  const ids = Array.from({ length: T }, (_, i) => prompt[i % prompt.length]!);
  const att = await time(
    async () => {
      const r = await app.inject({ method: 'POST', url: '/api/attention', payload: { model: 'demo', promptIds: ids, layer: 1, head: 0 } });
      if (r.statusCode !== 200) throw new Error(r.body);
    },
    { warmup: 1, iters },
  );
  emit({ bench: 'attention_http', tokens: T, seconds: att.median, machine: m });

  await app.close();
  model.dispose();
  fs.rmSync(models, { recursive: true, force: true });
  if (flags.only !== 'overhead') await loadBench(flags, m);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
