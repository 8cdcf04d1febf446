// Task files in JSON Lines, one example per line. Fields by task (labels are names or 0-based indices):
//   cls    {"text": "...", "label": "positive"}
//   entail {"premise": "...", "hypothesis": "...", "label": "entailed"}
//   sim    {"a": "...", "b": "...", "label": 1}
//   mc     {"context": "...", "options": ["...", "..."], "label": 2}
// Errors name the file and line: a missing field, a label outside the label set, a different option count.
import { expectObject, readJsonlFile } from '@gptlab/common/node';
import type { TaskExample, TaskKind } from './formats';

const FIELDS: Record<TaskKind, string[]> = {
  cls: ['text'],
  entail: ['premise', 'hypothesis'],
  sim: ['a', 'b'],
  mc: ['context', 'options'],
};

export interface TaskFile {
  examples: TaskExample[];
  /** Label names in index order (cls/entail/sim), or option slots for mc. */
  labels: string[];
}

/**
 * Reads a task file. `labels` fixes the label set (e.g. from the training file when reading dev/test);
 * without it, the sorted distinct label names of this file become the set (numeric labels stay numeric).
 * For mc, every line must have the same number of options (`options` fixes it).
 */
export function readTaskFile(file: string, kind: TaskKind, fixed?: { labels?: string[]; options?: number }): TaskFile {
  const rows = readJsonlFile(file).map(({ value, line }) => ({ line, obj: expectObject(value, file, line) }));
  if (rows.length === 0) throw new Error(`${file}: no examples`);
  for (const { line, obj } of rows) {
    for (const f of [...FIELDS[kind], 'label']) {
      if (!(f in obj))
        throw new Error(`${file}:${line}: missing field "${f}" (a ${kind} example needs ${[...FIELDS[kind], 'label'].join(', ')})`);
    }
    for (const f of FIELDS[kind]) {
      if (f === 'options') {
        const o = obj.options;
        if (!Array.isArray(o) || o.length < 2 || o.some((x) => typeof x !== 'string')) {
          throw new Error(`${file}:${line}: "options" must be an array of at least 2 strings`);
        }
      } else if (typeof obj[f] !== 'string') throw new Error(`${file}:${line}: field "${f}" must be a string`);
    }
  }
  let labels: string[];
  let nOptions = fixed?.options;
  if (kind === 'mc') {
    nOptions ??= (rows[0]!.obj.options as string[]).length;
    labels = Array.from({ length: nOptions }, (_, i) => `option ${i + 1}`);
  } else if (fixed?.labels) {
    labels = fixed.labels;
  } else {
    const names = new Set(rows.map((r) => String(r.obj.label)));
    const numeric = [...names].every((n) => /^\d+$/.test(n));
    labels = numeric ? Array.from({ length: Math.max(...[...names].map(Number)) + 1 }, (_, i) => String(i)) : [...names].sort();
  }
  const examples = rows.map(({ line, obj }): TaskExample => {
    let label: number;
    if (kind === 'mc') {
      const opts = obj.options as string[];
      if (opts.length !== nOptions) {
        throw new Error(`${file}:${line}: ${opts.length} options, but the head scores ${nOptions} (every example needs the same number)`);
      }
      label = Number(obj.label);
      if (!Number.isInteger(label) || label < 0 || label >= nOptions!) {
        throw new Error(`${file}:${line}: label ${JSON.stringify(obj.label)} is not an option index in [0, ${nOptions})`);
      }
    } else {
      const name = String(obj.label);
      label = labels.indexOf(name);
      if (label < 0 && typeof obj.label === 'number' && Number.isInteger(obj.label) && obj.label < labels.length) label = obj.label;
      if (label < 0) throw new Error(`${file}:${line}: label ${JSON.stringify(obj.label)} is outside the label set [${labels.join(', ')}]`);
    }
    switch (kind) {
      case 'cls':
        return { kind, text: obj.text as string, label };
      case 'entail':
        return { kind, premise: obj.premise as string, hypothesis: obj.hypothesis as string, label };
      case 'sim':
        return { kind, a: obj.a as string, b: obj.b as string, label };
      case 'mc':
        return { kind, context: obj.context as string, options: obj.options as string[], label };
    }
  });
  return { examples, labels };
}
