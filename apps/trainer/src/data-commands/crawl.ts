// `gptlab-train data crawl`: writes the crawl-like demonstration corpus (real Brown and WordNet text damaged in
// recorded ways, plus planted near-duplicates) as JSONL, with the damage kept in each record as ground truth.
import { AtomicWriter, UsageError, withDefaults, type FlagSpecs } from '@gptlab/common/node';
import { crawlDocs, referencePassages } from '@gptlab/data';
import type { TrainerCommand } from '../cli/command';

const FLAGS: FlagSpecs = {
  docs: { type: 'int', min: 1, help: 'documents to write', default: 10000 },
  seed: { type: 'int', help: 'seed of the damage and the duplicates', default: 1 },
  'clean-rate': { type: 'float', min: 0, max: 1, help: 'share of pages left undamaged', default: 0.3 },
  'duplicate-rate': { type: 'float', min: 0, max: 1, help: 'share of pages that are near-copies of recent ones', default: 0.08 },
  part: { type: 'string', help: 'only base passages in part K of N (K/N): crawls over different parts share no text', metavar: 'K/N' },
  reference: { type: 'bool', help: 'write the held-out clean reference passages instead (never used by the crawl)' },
  out: { type: 'string', required: true, help: 'output JSONL: {id, text, source, base, damage[], duplicateOf?}', metavar: 'FILE' },
};

export const crawlCommand: TrainerCommand = {
  name: 'crawl',
  summary: 'write the crawl-like corpus (damaged real text + near-duplicates, ground truth per record)',
  flags: FLAGS,
  async run({ flags }, io) {
    const f = withDefaults(FLAGS, flags);
    const part = f.part === undefined ? undefined : /^(\d+)\/(\d+)$/.exec(f.part as string);
    if (part === null) throw new UsageError(`--part expects K/N such as 0/2, got "${f.part}"`);
    const w = new AtomicWriter(f.out as string);
    let n = 0;
    try {
      const docs = f.reference
        ? referencePassages({ heldOut: true })
        : crawlDocs({
            docs: f.docs as number,
            seed: f.seed as number,
            cleanRate: f['clean-rate'] as number,
            duplicateRate: f['duplicate-rate'] as number,
            part: part ? [Number(part[1]), Number(part[2])] : undefined,
          });
      for (const d of docs) {
        if (f.reference && n >= (f.docs as number)) break;
        w.write(JSON.stringify({ id: d.id, text: d.text, ...d.meta }) + '\n');
        n++;
      }
      w.commit();
    } catch (e) {
      w.abort();
      throw e;
    }
    io.stderr(`crawl: ${n} ${f.reference ? 'reference passages' : 'documents'} → ${f.out}\n`);
    return 0;
  },
};
