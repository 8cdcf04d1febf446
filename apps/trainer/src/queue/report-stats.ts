// Stage statistics of a queued run in the local report's shape: the chunks' normalise/filter statistics summed,
// and exact/near dedup statistics from the clusters stage's counts.
import { emptyStats, type StageStats } from '@gptlab/data';
import type { NearParams } from './protocol';
import type { ClusterCounts } from './stages-lsh';

const MAX_EXAMPLES = 3;

/** Sums per-chunk stage statistics stage by stage (examples: the first few in chunk order; numeric extras summed). */
export function mergeStageStats(perChunk: StageStats[][]): StageStats[] {
  const out: StageStats[] = [];
  for (const stages of perChunk)
    stages.forEach((s, i) => {
      const m = (out[i] ??= emptyStats(s.name));
      m.docsIn += s.docsIn;
      m.docsOut += s.docsOut;
      m.bytesIn += s.bytesIn;
      m.bytesOut += s.bytesOut;
      m.timeMs += s.timeMs;
      for (const [k, v] of Object.entries(s.dropped)) m.dropped[k] = (m.dropped[k] ?? 0) + v;
      for (const [k, ex] of Object.entries(s.examples)) m.examples[k] = [...(m.examples[k] ?? []), ...ex].slice(0, MAX_EXAMPLES);
      for (const [k, v] of Object.entries(s.extra))
        m.extra[k] =
          typeof v === 'number' && (typeof m.extra[k] === 'number' || m.extra[k] === undefined)
            ? ((m.extra[k] as number | undefined) ?? 0) + v
            : (m.extra[k] ?? v);
    });
  return out;
}

/** exact-dedup and near-dedup statistics (bytes: cleaned text by keep-mask value, 1 kept, 2 exact, 3 near). */
export function dedupStageStats(
  clean: StageStats[],
  c: ClusterCounts & { noShingles?: number },
  bytes: number[],
  near: NearParams | null,
): StageStats[] {
  const inBytes = clean.length ? clean[clean.length - 1]!.bytesOut : bytes[1]! + bytes[2]! + bytes[3]!;
  const exact = emptyStats('exact-dedup');
  Object.assign(exact, { docsIn: c.docs, docsOut: c.docs - c.exactDuplicates, bytesIn: inBytes, bytesOut: inBytes - bytes[2]! });
  if (c.exactDuplicates) exact.dropped.exact_duplicate = c.exactDuplicates;
  exact.extra.uniqueTexts = c.docs - c.exactDuplicates;
  if (!near) return [exact];
  const nd = emptyStats('near-dedup');
  Object.assign(nd, {
    docsIn: exact.docsOut,
    docsOut: exact.docsOut - c.nearDuplicates,
    bytesIn: exact.bytesOut,
    bytesOut: exact.bytesOut - bytes[3]!,
  });
  if (c.nearDuplicates) nd.dropped.near_duplicate = c.nearDuplicates;
  const { docs: _d, exactDuplicates: _e, nearDuplicates: _n, ...work } = c;
  Object.assign(nd.extra, near, work);
  return [exact, nd];
}
