// Special tokens: spellings with fixed ids that BPE never produces or splits (GPT-2's `<|endoftext|>`, GPT-1's
// `<s>`, `<$>`, `<e>`). Text matches them only where the caller allows it (tiktoken's `allowed_special`); by
// default a special token's spelling in text is ordinary text, so user input cannot inject one.

import { describe } from './io';
import type { BPEModel } from './model';
import { specialContent } from './vocab-files';

export type AllowedSpecial = 'all' | ReadonlySet<string> | readonly string[];

/** A global regex matching any of `spellings`, longest first (so that a token wins over its prefixes). */
export function specialTokenRegex(spellings: readonly string[]): RegExp {
  const sorted = [...spellings].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
  return new RegExp(sorted.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
}

export class SpecialTokens {
  /** Spelling → id. */
  readonly ids = new Map<string, number>();
  /** Id → spelling. */
  readonly spellings = new Map<number, string>();
  private readonly matchers = new Map<string, RegExp>();

  constructor(private readonly model: BPEModel) {}

  /**
   * Makes `tok` special with id `id`. Refuses an id shared with another special token, a second id for the same
   * token, and an id that BPE produces for other text (it would then decode two ways).
   */
  add(tok: string, id: number): void {
    if (typeof tok !== 'string' || tok === '') throw new TypeError(`special token must be a non-empty string, got ${describe(tok)}`);
    if (!Number.isInteger(id) || id < 0)
      throw new RangeError(`special token ${JSON.stringify(tok)}: id must be a non-negative integer, got ${describe(id)}`);
    const other = this.spellings.get(id);
    if (other !== undefined && other !== tok) {
      throw new Error(`special tokens ${JSON.stringify(other)} and ${JSON.stringify(tok)} share id ${id}`);
    }
    const had = this.ids.get(tok);
    if (had !== undefined && had !== id)
      throw new Error(`special token ${JSON.stringify(tok)} already has id ${had}, cannot also have id ${id}`);
    const ordinary = this.model.tokens[id];
    if (ordinary !== undefined && id < this.model.reachable.length && this.model.reachable[id] && specialContent(ordinary) !== tok) {
      throw new Error(`special token ${JSON.stringify(tok)} has id ${id}, which is the ordinary token ${JSON.stringify(ordinary)}`);
    }
    this.ids.set(tok, id);
    this.spellings.set(id, tok);
    this.matchers.clear();
  }

  /** specialTokenRegex of the allowed special tokens, or null when none is allowed. `fn` names the caller in errors. */
  matcher(allowed: AllowedSpecial, fn: string): RegExp | null {
    let list: string[];
    if (allowed === 'all') list = [...this.ids.keys()];
    else if (allowed instanceof Set || Array.isArray(allowed)) {
      list = [...(allowed as Iterable<string>)];
      for (const s of list) {
        if (!this.ids.has(s))
          throw new Error(`${fn}: allowedSpecial contains ${describe(s)}, which is not a special token of this tokenizer`);
      }
    } else throw new TypeError(`${fn}: allowedSpecial must be 'all', a Set or an array of strings, got ${describe(allowed)}`);
    if (list.length === 0) return null;
    const key = [...list].sort().join('\u0000');
    let re = this.matchers.get(key);
    if (!re) {
      re = specialTokenRegex(list);
      if (this.matchers.size > 64) this.matchers.clear();
      this.matchers.set(key, re);
    }
    return re;
  }
}
