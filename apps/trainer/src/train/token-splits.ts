// The training and validation token streams of a shard directory. Validation is normally a split of whole
// documents (made by `data prepare`). Shards without one — a corpus of too few documents, such as nanoGPT's
// single input.txt, or `data prepare --val-fraction 0` — are split by tokens as nanoGPT does: validation is
// the last `valFraction` of the token stream (at least one window), training the rest.
import { ShardReader } from '@gptlab/data';
import type { TokenArray } from './batches';

export interface TokenSplits {
  train: TokenArray;
  val: TokenArray;
  /** How validation was split, for the log. */
  how: string;
}

export function tokenSplits(dataDir: string, valFraction: number, blockSize: number): TokenSplits {
  const reader = new ShardReader(dataDir);
  let train: TokenArray;
  let val: TokenArray;
  try {
    train = reader.readAll('train');
    val = reader.readAll('val');
  } finally {
    reader.close();
  }
  if (val.length > 0) {
    if (val.length < blockSize + 1) {
      throw new Error(
        `the validation split of ${dataDir} has ${val.length} tokens, fewer than one window of --block-size ${blockSize} + 1`,
      );
    }
    return { train, val, how: `validation split by documents (${val.length.toLocaleString('en-US')} tokens)` };
  }
  return splitByTokens(train, valFraction, blockSize);
}

/** The last `valFraction` of `tokens` (at least blockSize + 1 of them) for validation, the rest for training. */
export function splitByTokens(tokens: TokenArray, valFraction: number, blockSize: number): TokenSplits {
  const n = tokens.length;
  const nVal = Math.max(Math.round(n * valFraction), blockSize + 1);
  // Training needs one window of T + 1 tokens plus one start to choose from (WindowSampler).
  if (n - nVal < blockSize + 2) {
    throw new Error(
      `the corpus has ${n} tokens: too few for a validation window and a training window of --block-size ${blockSize} (lower --block-size or add text)`,
    );
  }
  const share = (100 * nVal) / n;
  return {
    train: tokens.subarray(0, n - nVal),
    val: tokens.subarray(n - nVal),
    how: `validation split by tokens: the last ${share.toFixed(share < 10 ? 1 : 0)}% of the token stream (${nVal.toLocaleString('en-US')} tokens; the shards hold no validation documents)`,
  };
}
