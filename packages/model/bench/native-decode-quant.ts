// native_decode_quant: the native decode step with float32, bfloat16 and int8 weights (enableNativeDecoding's
// `weights`), timed in alternating rounds in one process (round r runs the three in turn, the order reversed every
// other round, each after a 2-token warm-up that takes its snapshot), so a busy moment of the shared machine hits
// them alike: tokens/s median and best of the rounds, and the ratio to float32 three ways (median / median, best /
// best, median of the per-round ratios). Drift against float32 on float32's own greedy sequence (teacher-forced):
// max and mean |Δ log-prob| of the chosen tokens, how often the argmax agrees; and whether a free-running greedy
// run gives float32's ids (and where it first leaves them).
import { emit, machine } from '@gptlab/bench-utils';
import { type GPT, enableNativeDecoding, disableNativeDecoding } from '../src';
import { drift, greedy, median } from './greedy-run';

export type QuantDtype = 'float32' | 'bfloat16' | 'int8';
const DTYPES: QuantDtype[] = ['float32', 'bfloat16', 'int8'];

export interface QuantTiming {
  tokensPerSec: number;
  decodePerSec: number;
  fastestStep: number;
  detail: string;
}

/**
 * Emits one `native_decode_quant` line per dtype and one `native_decode_quant_drift` line per quantised dtype for
 * `model` (its native decoding is off afterwards); returns the median timings (for the peer ratios of the caller).
 */
export function quantDecodeBench(
  model: GPT,
  prompt: number[],
  n: number,
  rounds: number,
  common: Record<string, unknown>,
): Map<QuantDtype, QuantTiming> {
  const m0 = machine();
  const detail = new Map<QuantDtype, string>();
  const use = (dtype: QuantDtype) => {
    detail.set(dtype, enableNativeDecoding(model, { weights: dtype }).detail);
    greedy(model, prompt, 2, false); // the snapshot (and for int8 the quantisation) outside the timing
  };
  // drift first: float32's greedy run, each quantised dtype teacher-forced on it and free-running
  use('float32');
  const base = greedy(model, prompt, n, true);
  const drifts = new Map<QuantDtype, Record<string, unknown>>();
  for (const dtype of DTYPES.slice(1)) {
    use(dtype);
    const forced = greedy(model, prompt, n, true, base.ids);
    const free = greedy(model, prompt, n, false);
    const firstDiff = free.ids.findIndex((id, i) => id !== base.ids[i]);
    drifts.set(dtype, { ...drift(base, forced), same_greedy_ids: firstDiff < 0, first_different_step: firstDiff < 0 ? null : firstDiff });
  }
  const runs = new Map<QuantDtype, { tps: number[]; dps: number[]; fastest: number }>(
    DTYPES.map((d) => [d, { tps: [], dps: [], fastest: Infinity }]),
  );
  for (let r = 0; r < rounds; r++) {
    for (const dtype of r % 2 ? [...DTYPES].reverse() : DTYPES) {
      use(dtype);
      const run = greedy(model, prompt, n, false);
      const into = runs.get(dtype)!;
      into.tps.push(n / run.total);
      into.dps.push((n - 1) / (run.total - run.prefill));
      into.fastest = Math.min(into.fastest, ...run.steps);
    }
  }
  disableNativeDecoding(model);
  const m1 = machine();
  const f32 = runs.get('float32')!;
  const out = new Map<QuantDtype, QuantTiming>();
  for (const dtype of DTYPES) {
    const r = runs.get(dtype)!;
    const t: QuantTiming = { tokensPerSec: median(r.tps), decodePerSec: median(r.dps), fastestStep: r.fastest, detail: detail.get(dtype)! };
    out.set(dtype, t);
    emit({
      bench: 'native_decode_quant',
      weights: dtype,
      ...common,
      native: t.detail,
      rounds,
      tokens_per_sec: +t.tokensPerSec.toFixed(2),
      best_tokens_per_sec: +Math.max(...r.tps).toFixed(2),
      rounds_tokens_per_sec: r.tps.map((v) => +v.toFixed(2)),
      ms_per_decode_token: +(1000 / t.decodePerSec).toFixed(2),
      fastest_step_ms: +(r.fastest * 1000).toFixed(2),
      peer: 'float32 weights, same process, alternating rounds',
      ratio_median: +(t.tokensPerSec / median(f32.tps)).toFixed(3),
      ratio_best: +(Math.max(...r.tps) / Math.max(...f32.tps)).toFixed(3),
      ratio_per_round_median: +median(r.tps.map((v, i) => v / f32.tps[i]!)).toFixed(3),
      ratio_fastest_step: +(f32.fastest / r.fastest).toFixed(3),
      target: dtype === 'float32' ? null : '≥ 1.6× float32 tokens/s (issue #19 target 3)',
      machine: { ...m0, others_cores_after: m1.others_cores },
    });
  }
  for (const [dtype, d] of drifts)
    emit({ bench: 'native_decode_quant_drift', weights: dtype, config: common.config, against: 'float32', ...d });
  return out;
}
