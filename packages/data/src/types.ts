/** A document flowing through the pipeline. `id` is unique within a source; `meta` is carried through untouched. */
export interface Doc {
  id: string;
  text: string;
  meta?: Record<string, unknown>;
}

/** Something that yields documents (a source or the output of a stage). */
export type DocStream = AsyncIterable<Doc>;

/** One example of a dropped document, kept in the report. */
export interface DropExample {
  id: string;
  text: string;
  detail?: string;
}

/** Counters every stage keeps. Times are the stage's own time (upstream and downstream time excluded). */
export interface StageStats {
  name: string;
  docsIn: number;
  docsOut: number;
  bytesIn: number;
  bytesOut: number;
  timeMs: number;
  /** Dropped documents by reason. */
  dropped: Record<string, number>;
  /** Up to `maxExamples` dropped documents per reason (text truncated to 200 characters). */
  examples: Record<string, DropExample[]>;
  /** Stage-specific extra figures (e.g. invalid UTF-8 sequences replaced, LSH parameters). */
  extra: Record<string, unknown>;
}

/** A composable pipeline step: consumes a stream, yields the documents it keeps, and counts what it drops. */
export interface Stage {
  readonly name: string;
  readonly stats: StageStats;
  run(input: DocStream): DocStream;
}
