// The per-source part of prepare's report: for each source, documents, bytes and tokens read and kept at every
// stage, what reached the shards, its weight, the share of the shards' tokens it actually got and the epochs it
// took. Tokens are counted exactly at the shards; at earlier stages they are estimated from bytes with that
// source's tokens-per-byte ratio at the shards (tokenising every stage's output would multiply the cost).
import type { MixtureStats } from './mixture';
import type { SourceStats } from './sources';
import type { StageStats } from './types';

export interface SourceFunnelRow {
  stage: string;
  docs: number;
  bytes: number;
  /** Exact at 'shards', estimated (bytes × tokens/byte of this source at the shards) before. */
  tokens: number;
}

export interface SourceSummary {
  name: string;
  weight: number | null;
  /** Share of the shards' tokens this source got. */
  tokenShare: number;
  /** Epochs over the filtered source (mixtures only; null until one pass completed, i.e. fewer than 1). */
  epochs: number | null;
  /**
   * False when the mixture stopped inside this source's first pass: the stage counts then cover only what was
   * read so far (stages that work in batches, such as near-dedup, read ahead of what they passed on).
   */
  passComplete: boolean;
  expectedEpochs: number | null;
  /** Read → each stage's output (first pass) → shards (all passes). */
  funnel: SourceFunnelRow[];
}

export class ShardCounter {
  readonly bySource = new Map<string, { docs: number; tokens: number; bytes: number }>();
  add(source: string, tokens: number, bytes: number): void {
    const c = this.bySource.get(source) ?? { docs: 0, tokens: 0, bytes: 0 };
    c.docs++;
    c.tokens += tokens;
    c.bytes += bytes;
    this.bySource.set(source, c);
  }
}

export function summarizeSources(
  inputs: { name: string; weight?: number; src: { stats: SourceStats } }[],
  stageRuns: { source: string; stages: { stats: StageStats }[] }[],
  shards: ShardCounter,
  mix: MixtureStats | undefined,
  expectedEpochs: Record<string, number> = {},
): SourceSummary[] {
  const totalTokens = [...shards.bySource.values()].reduce((a, c) => a + c.tokens, 0);
  const weightSum = inputs.reduce((a, s) => a + (s.weight ?? 0), 0);
  return inputs.map((inp) => {
    const at = shards.bySource.get(inp.name) ?? { docs: 0, tokens: 0, bytes: 0 };
    const perByte = at.bytes ? at.tokens / at.bytes : 0;
    const run = stageRuns.find((r) => r.source === inp.name);
    const first = run?.stages[0]?.stats;
    const funnel: SourceFunnelRow[] = [
      {
        stage: 'read',
        docs: first?.docsIn ?? inp.src.stats.docs,
        bytes: first?.bytesIn ?? inp.src.stats.bytes,
        tokens: Math.round((first?.bytesIn ?? inp.src.stats.bytes) * perByte),
      },
      ...(run?.stages ?? []).map((s) => ({
        stage: s.stats.name,
        docs: s.stats.docsOut,
        bytes: s.stats.bytesOut,
        tokens: Math.round(s.stats.bytesOut * perByte),
      })),
      { stage: 'shards', docs: at.docs, bytes: at.bytes, tokens: at.tokens },
    ];
    const mc = mix?.components.find((c) => c.name === inp.name);
    return {
      name: inp.name,
      weight: inp.weight !== undefined && weightSum > 0 ? inp.weight / weightSum : null,
      tokenShare: totalTokens ? at.tokens / totalTokens : 0,
      epochs: mc ? mc.epochs : null,
      passComplete: mc ? mc.passes > 0 : true,
      expectedEpochs: expectedEpochs[inp.name] ?? null,
      funnel,
    };
  });
}
