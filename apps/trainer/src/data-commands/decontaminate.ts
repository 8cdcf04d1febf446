// `gptlab-train data decontaminate`: GPT-3 §4 / Appendix C overlap removal — training documents sharing an
// N-gram (13 words by default) with an evaluation task are dropped, and a report names each one and why.
import * as fs from 'node:fs';
import { UsageError, withDefaults, type FlagSpecs } from '@gptlab/common/node';
import { decontaminateJsonl } from '@gptlab/data';
import type { TrainerCommand } from '../cli/command';
import { TEXT_FIELD_FLAGS } from '../cli/flag-groups';

const FLAGS: FlagSpecs = {
  input: { type: 'string', required: true, help: 'training documents (JSONL, .gz/.zst too)', metavar: 'FILE' },
  against: {
    type: 'list',
    required: true,
    help: 'evaluation task JSONL files: {"context","choices","gold"}, {"context","answers"} or {"text"} a line',
    metavar: 'FILE,...',
  },
  ngram: { type: 'int', min: 1, help: 'N of the word N-grams compared (GPT-3: 13)', default: 13 },
  'min-words': { type: 'int', min: 1, help: 'evaluation texts shorter than min(N, this) words are not matched', default: 8 },
  ...TEXT_FIELD_FLAGS,
  'id-field': { type: 'string', help: 'id field (named in the report)', default: 'id' },
  out: { type: 'string', required: true, help: 'the documents without collisions (JSONL)', metavar: 'FILE' },
  report: { type: 'string', help: 'report JSON: removed documents with the task, its line and the colliding N-gram', metavar: 'FILE' },
};

export const decontaminateCommand: TrainerCommand = {
  name: 'decontaminate',
  summary: 'remove training documents that share a 13-gram with evaluation tasks (GPT-3 §4)',
  flags: FLAGS,
  async run({ flags }, io) {
    const f = withDefaults(FLAGS, flags);
    for (const p of [f.input as string, ...(f.against as string[])]) if (!fs.existsSync(p)) throw new UsageError(`${p}: no such file`);
    const t0 = performance.now();
    const r = await decontaminateJsonl({
      input: f.input as string,
      against: f.against as string[],
      out: f.out as string,
      report: f.report as string | undefined,
      ngram: f.ngram as number,
      minWords: f['min-words'] as number,
      field: f.field as string,
      idField: f['id-field'] as string,
      skipBad: f['skip-bad'] === true,
    });
    const per = Object.entries(r.perTask)
      .map(([t, v]) => `${t}: ${v.removedDocs}`)
      .join(', ');
    io.stderr(
      `decontaminate: ${r.records} documents → ${r.written} kept, ${r.removed} removed (${r.ngram}-grams; ${per})` +
        `${r.badLines ? `, ${r.badLines} bad lines skipped` : ''} in ${((performance.now() - t0) / 1000).toFixed(1)}s\n`,
    );
    return 0;
  },
};
