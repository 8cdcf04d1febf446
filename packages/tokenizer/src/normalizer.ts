// Normalisers run on ordinary text before pre-tokenisation (special tokens are matched on the raw text first).
// GPT-2 has none; Unicode normal forms are offered for other tokenisers.

export interface Normalizer {
  normalize(text: string): string;
  /** Hugging Face tokenizer.json `normalizer` value. */
  toJSON(): unknown;
}

/** The identity (GPT-2). */
export class IdentityNormalizer implements Normalizer {
  normalize(text: string): string {
    return text;
  }
  toJSON(): unknown {
    return null;
  }
}

export type UnicodeForm = 'NFC' | 'NFD' | 'NFKC' | 'NFKD';

/** `String.prototype.normalize(form)`. */
export class UnicodeNormalizer implements Normalizer {
  constructor(readonly form: UnicodeForm) {
    if (!['NFC', 'NFD', 'NFKC', 'NFKD'].includes(form)) throw new Error(`UnicodeNormalizer: unknown form ${JSON.stringify(form)}`);
  }
  normalize(text: string): string {
    return text.normalize(this.form);
  }
  toJSON(): unknown {
    return { type: this.form };
  }
}
