import type { Stage } from './types';
import { createStage } from './stage';

export interface NormalizeOptions {
  /** Unicode normalisation form (default 'NFC'); false to skip. */
  form?: 'NFC' | 'NFKC' | false;
  /** Collapse runs of spaces/tabs, trim lines, keep at most one blank line (default true). */
  whitespace?: boolean;
  /** Remove C0/C1 control characters except \n and \t, plus zero-width characters and BOMs (default true). */
  controlChars?: boolean;
  /** Drop documents that are empty after normalisation (default true). */
  dropEmpty?: boolean;
}

// C0 controls except \t \n \r, DEL, C1 controls, zero-width space/joiners, word joiner, BOM.
const CONTROL_RE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u200B-\u200D\u2060\uFEFF]/g;
const SPACE_RE = /[\t\u00A0\u1680\u2000-\u200A\u202F\u205F\u3000 ]+/g;

/** Normalises one string (the same rules the stage applies). Returns the text and the number of control chars removed. */
export function normalizeText(text: string, opts: NormalizeOptions = {}): { text: string; controlRemoved: number } {
  const form = opts.form ?? 'NFC';
  let t = text;
  let controlRemoved = 0;
  if (t.indexOf('\r') >= 0) t = t.replace(/\r\n?/g, '\n');
  if (opts.controlChars ?? true) {
    t = t.replace(CONTROL_RE, () => {
      controlRemoved++;
      return '';
    });
  }
  if (form) t = t.normalize(form);
  if (opts.whitespace ?? true) {
    t = t.replace(SPACE_RE, ' ');
    if (t.indexOf('\n') >= 0) {
      t = t
        .split('\n')
        .map((l) => l.trim())
        .join('\n')
        .replace(/\n{3,}/g, '\n\n');
    }
    t = t.trim();
  }
  return { text: t, controlRemoved };
}

/**
 * Normalise stage: Unicode NFC, whitespace, control characters. Sources mark documents whose bytes were not valid
 * UTF-8 (`meta.invalidUtf8` = number of sequences replaced by U+FFFD); this stage counts them in
 * `stats.extra.invalidUtf8Sequences` / `docsWithInvalidUtf8`.
 */
export function normalizeStage(opts: NormalizeOptions = {}): Stage {
  return createStage('normalize', async function* (input, ctx) {
    const extra = ctx.stats.extra;
    extra.invalidUtf8Sequences = 0;
    extra.docsWithInvalidUtf8 = 0;
    extra.controlCharsRemoved = 0;
    extra.docsChanged = 0;
    for await (const doc of input) {
      const bad = Number(doc.meta?.invalidUtf8 ?? 0);
      if (bad > 0) {
        (extra.invalidUtf8Sequences as number) += bad;
        (extra.docsWithInvalidUtf8 as number)++;
      }
      const { text, controlRemoved } = normalizeText(doc.text, opts);
      (extra.controlCharsRemoved as number) += controlRemoved;
      if (text !== doc.text) (extra.docsChanged as number)++;
      if (!text && (opts.dropEmpty ?? true)) {
        ctx.drop(doc, 'empty');
        continue;
      }
      yield text === doc.text ? doc : { ...doc, text };
    }
  });
}
