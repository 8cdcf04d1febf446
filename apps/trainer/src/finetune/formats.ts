// GPT-1's task input transformations (Radford et al. 2018, §3.3): every task becomes one or more token
// sequences start `<s>` … extract `<e>`, read by a linear head on the last layer's hidden state at `<e>`.
//   classification: <s> text <e>
//   entailment:     <s> premise <$> hypothesis <e>
//   similarity:     <s> A <$> B <e>  and  <s> B <$> A <e>  (hidden states added before the head)
//   multiple choice: <s> context <$> answer_i <e>  per option (one score each, softmax over options)

export const START = '<s>';
export const DELIM = '<$>';
export const EXTRACT = '<e>';
export const GPT1_SPECIAL_TOKENS = [START, DELIM, EXTRACT] as const;

export type TaskKind = 'cls' | 'entail' | 'sim' | 'mc';
export const TASK_KINDS: readonly TaskKind[] = ['cls', 'entail', 'sim', 'mc'];

/** One labelled example; which fields are read depends on the task kind. */
export type TaskExample =
  | { kind: 'cls'; text: string; label: number }
  | { kind: 'entail'; premise: string; hypothesis: string; label: number }
  | { kind: 'sim'; a: string; b: string; label: number }
  | { kind: 'mc'; context: string; options: string[]; label: number };

export interface FormatTokenizer {
  encode(text: string): number[];
  tokenToId(token: string): number | undefined;
}

/** The token sequences of one example, each ending at its `<e>` token (the head reads the last position). */
export interface FormattedExample {
  sequences: number[][];
  label: number;
}

export interface FormatOptions {
  /** Longest sequence allowed (the model's context). */
  maxLength: number;
  /** Cut long texts to fit instead of failing (the end of the longest text part is dropped first). */
  truncate?: boolean;
  /** Where the example came from, for error messages (e.g. "tasks.jsonl:17"). */
  where?: string;
}

function specialIds(tok: FormatTokenizer) {
  const ids = GPT1_SPECIAL_TOKENS.map((t) => tok.tokenToId(t));
  if (ids.some((i) => i === undefined)) {
    throw new Error(`the tokenizer lacks the GPT-1 special tokens ${GPT1_SPECIAL_TOKENS.join(' ')}: add them before fine-tuning`);
  }
  const [s, d, e] = ids as number[];
  return { s: s!, d: d!, e: e! };
}

/** Joins text parts with the delimiter between them, cutting the longest part first when asked to. */
function assemble(parts: number[][], ids: { s: number; d: number; e: number }, opts: FormatOptions): number[] {
  const overhead = 2 + (parts.length - 1); // <s>, <e>, and one <$> between parts
  let total = overhead + parts.reduce((n, p) => n + p.length, 0);
  if (total > opts.maxLength) {
    if (!opts.truncate) {
      throw new Error(
        `${opts.where ? opts.where + ': ' : ''}example is ${total} tokens, longer than the context of ${opts.maxLength} (use --truncate to cut it)`,
      );
    }
    const cut = parts.map((p) => p.slice());
    while (total > opts.maxLength) {
      let longest = 0;
      for (let i = 1; i < cut.length; i++) if (cut[i]!.length > cut[longest]!.length) longest = i;
      if (cut[longest]!.length === 0) throw new Error(`${opts.where ?? 'example'}: context ${opts.maxLength} is too short for the markers`);
      cut[longest]!.pop();
      total--;
    }
    parts = cut;
  }
  const out = [ids.s];
  parts.forEach((p, i) => {
    if (i > 0) out.push(ids.d);
    out.push(...p);
  });
  out.push(ids.e);
  return out;
}

export function formatExample(ex: TaskExample, tok: FormatTokenizer, opts: FormatOptions): FormattedExample {
  const ids = specialIds(tok);
  switch (ex.kind) {
    case 'cls':
      return { sequences: [assemble([tok.encode(ex.text)], ids, opts)], label: ex.label };
    case 'entail':
      return { sequences: [assemble([tok.encode(ex.premise), tok.encode(' ' + ex.hypothesis)], ids, opts)], label: ex.label };
    case 'sim': {
      const a = tok.encode(ex.a);
      const b = tok.encode(ex.b);
      return { sequences: [assemble([a, b], ids, opts), assemble([b, a], ids, opts)], label: ex.label };
    }
    case 'mc': {
      const c = tok.encode(ex.context);
      return { sequences: ex.options.map((o) => assemble([c, tok.encode(' ' + o)], ids, opts)), label: ex.label };
    }
  }
}
