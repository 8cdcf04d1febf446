import type { Doc, DocStream, Stage, StageStats } from './types';
import { truncate, utf8Length } from './util';

export function emptyStats(name: string): StageStats {
  return { name, docsIn: 0, docsOut: 0, bytesIn: 0, bytesOut: 0, timeMs: 0, dropped: {}, examples: {}, extra: {} };
}

export interface StageContext {
  stats: StageStats;
  /** Records a dropped document under `reason` (counted; the first few kept as examples). */
  drop(doc: Doc, reason: string, detail?: string): void;
}

export type StageImpl = (input: DocStream, ctx: StageContext) => AsyncIterable<Doc>;

/**
 * Wraps a stage body with the bookkeeping every stage shares: documents/bytes in and out, dropped documents by
 * reason with examples, and the stage's own time (time spent waiting for upstream or downstream is excluded).
 */
export function createStage(name: string, impl: StageImpl, opts: { maxExamples?: number } = {}): Stage {
  const stats = emptyStats(name);
  const maxExamples = opts.maxExamples ?? 3;
  const ctx: StageContext = {
    stats,
    drop(doc, reason, detail) {
      stats.dropped[reason] = (stats.dropped[reason] ?? 0) + 1;
      const ex = (stats.examples[reason] ??= []);
      if (ex.length < maxExamples)
        ex.push(detail === undefined ? { id: doc.id, text: truncate(doc.text) } : { id: doc.id, text: truncate(doc.text), detail });
    },
  };
  return {
    name,
    stats,
    run(input: DocStream): DocStream {
      return {
        async *[Symbol.asyncIterator]() {
          let mark = performance.now();
          const pause = () => {
            stats.timeMs += performance.now() - mark;
          };
          const resume = () => {
            mark = performance.now();
          };
          const counted: DocStream = {
            [Symbol.asyncIterator]() {
              const it = input[Symbol.asyncIterator]();
              return {
                async next() {
                  pause();
                  const r = await it.next();
                  resume();
                  if (!r.done) {
                    stats.docsIn++;
                    stats.bytesIn += utf8Length(r.value.text);
                  }
                  return r;
                },
                async return(value?: unknown) {
                  if (it.return) await it.return(value);
                  return { done: true as const, value: undefined };
                },
              };
            },
          };
          try {
            for await (const doc of impl(counted, ctx)) {
              stats.docsOut++;
              stats.bytesOut += utf8Length(doc.text);
              pause();
              yield doc;
              resume();
            }
          } finally {
            pause();
          }
        },
      };
    },
  };
}

/** Chains stages: `pipe(source, a, b)` = b.run(a.run(source)). */
export function pipe(source: DocStream, ...stages: Stage[]): DocStream {
  return stages.reduce<DocStream>((s, st) => st.run(s), source);
}

/** Drains a stream, returning how many documents came out (for stages used only for their side effects). */
export async function drain(stream: DocStream): Promise<number> {
  let n = 0;
  for await (const _ of stream) n++;
  return n;
}

/** Collects a stream into an array (tests and small corpora only). */
export async function collect(stream: DocStream): Promise<Doc[]> {
  const out: Doc[] = [];
  for await (const d of stream) out.push(d);
  return out;
}
