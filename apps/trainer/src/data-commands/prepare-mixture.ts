// `gptlab-train data prepare --mixture FILE|gpt3`: the GPT-3 recipe from a mixture file — per-source weights,
// stages (quality + Pareto only where listed: the crawl) and a token budget — into token shards, printing the
// per-source funnel (documents and tokens at every stage), the token shares and the epochs taken.
import * as path from 'node:path';
import { UsageError, type ParsedFlags } from '@gptlab/common/node';
import { loadMixture, prepare, type SourceSummary } from '@gptlab/data';
import { BPETokenizer } from '@gptlab/tokenizer';
import type { CommandIO } from '../cli/command';
import { saveTokenizerAtomic } from '../corpus';

const pct = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(1)}%`);

/** The per-source lines prepare prints: funnel docs/tokens, weight vs share, epochs taken (expected). */
export function sourceLines(per: SourceSummary[]): string[] {
  return per.map((p) => {
    const funnel = p.funnel.map((r) => `${r.stage} ${r.docs}/${r.tokens}`).join(' → ');
    const epochs = p.epochs !== null ? p.epochs.toFixed(2) : p.passComplete ? '-' : '<1';
    return `  ${p.name}: weight ${pct(p.weight)}, share ${pct(p.tokenShare)}, epochs ${epochs}${p.expectedEpochs !== null ? ` (table: ${p.expectedEpochs})` : ''} · docs/tokens ${funnel}${p.passComplete ? '' : ' (first pass not finished: partial counts)'}`;
  });
}

export async function runMixturePrepare(flags: ParsedFlags, io: CommandIO): Promise<number> {
  if (flags.queue) throw new UsageError('--mixture runs in this process; it does not take --queue');
  if (flags.source !== undefined || flags.corpus !== undefined) throw new UsageError('give --mixture or --source, not both');
  const mix = loadMixture(flags.mixture as string, { qualityModel: flags.quality as string | undefined });
  const out = flags.out as string;
  const tokenizer = BPETokenizer.load(flags.tokenizer as string);
  const t0 = performance.now();
  const res = await prepare({
    sources: mix.sources,
    tokenizer,
    outDir: out,
    valFraction: flags['val-fraction'] as number | undefined,
    mixture: mix.mixture,
    expectedEpochs: mix.expectedEpochs,
    field: flags.field as string | undefined,
    skipBad: flags['skip-bad'] === true,
    shardTokens: flags['shard-tokens'] as number | undefined,
  });
  saveTokenizerAtomic(tokenizer, path.join(out, 'tokenizer.json'));
  const m = res.manifest;
  io.stderr(
    [
      `prepare: ${m.splits.train.docs} train / ${m.splits.val.docs} val documents · ${m.splits.train.tokens} / ${m.splits.val.tokens} tokens (${m.dtype}) → ${out} ` +
        `in ${((performance.now() - t0) / 1000).toFixed(1)}s · report ${res.reportPath ?? '-'}`,
      ...sourceLines(res.report.perSource as SourceSummary[]),
    ].join('\n') + '\n',
  );
  return 0;
}
