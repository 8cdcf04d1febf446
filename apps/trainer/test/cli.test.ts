import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadWordNet } from '@gptlab/data';
import { BPETokenizer, ENDOFTEXT } from '@gptlab/tokenizer';
import { listCheckpoints } from '../src/train/checkpoint';
import { COMMANDS, GROUPS, main } from '../src/commands';

/** Runs a command line in this process (fast); the spawned tests below cover the bin itself. */
async function runIn(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    stdin: process.stdin,
    isTTY: false,
  });
  return { code, stdout, stderr };
}
import { makeShards, readMetrics, runCliSync, spawnCli, tmpDir, TINY, CLI } from './helpers';

let root: string;
let shards: { data: string; tokenizer: string };

beforeAll(async () => {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`pnpm --filter @gptlab/trainer build\` first`);
  root = tmpDir('cli');
  shards = await makeShards(root);
}, 60000);
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const pre = (out: string, ...extra: string[]) => ['pretrain', '--data', shards.data, '--out', path.join(root, out), ...TINY, ...extra];

describe('gptlab-train: conventions of every command', () => {
  test('the bin: a usage error is one line naming the flag and the help to see, exit code 2', () => {
    const r = runCliSync(['pretrain', '--n-layr', '2']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('gptlab-train pretrain: unknown flag --n-layr (did you mean --n-layer?); see gptlab-train pretrain --help\n');
    expect(r.stdout).toBe('');
  });

  test('--version, and --help on the program, every command and every subcommand (exit 0, flags listed)', async () => {
    const v = await runIn(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^gptlab-train \d+\.\d+\.\d+\n$/);
    const top = await runIn(['--help']);
    expect(top.code).toBe(0);
    for (const name of [...COMMANDS, ...GROUPS].map((c) => c.name)) expect(top.stdout).toContain(`  ${name} `);
    const lines: string[][] = [
      ...COMMANDS.map((c) => [c.name]),
      ...GROUPS.flatMap((g) => [[g.name], ...g.commands.map((c) => [g.name, c.name])]),
    ];
    for (const cmd of lines) {
      const r = await runIn([...cmd, '--help']);
      expect([cmd, r.code, r.stderr]).toEqual([cmd, 0, '']);
      expect(r.stdout).toMatch(new RegExp(`^usage: gptlab-train ${cmd.join(' ')}`));
      expect(r.stdout).toMatch(cmd.length === 1 && GROUPS.some((g) => g.name === cmd[0]) ? /commands:/ : /-h, --help/);
    }
    expect((await runIn(['finetune', '-h'])).stdout).toMatch(/--aux-lm-weight N .*\(default 0\.5\)/);
  });

  test.each([
    [['pretrain', '--bogus', '1'], 'pretrain', /unknown flag --bogus/],
    [['frobnicate'], '', /unknown command "frobnicate"/],
    [['tokenizer', 'frob'], 'tokenizer', /unknown command "frob"/],
    [['pretrain', '--steps', 'ten'], 'pretrain', /--steps expects an integer, got "ten"/],
    [['pretrain', '--steps', '0'], 'pretrain', /--steps must be >= 1, got 0/],
    [['pretrain', '--n-layer', '1'], 'pretrain', /no training data: pass --data DIR .* or --corpus/],
    [['demo', '--prompt'], 'demo', /--prompt needs a value/],
    [['finetune', '--task', 'cls'], 'finetune', /missing required flag --model/],
    [['finetune', '--model', 'm'], 'finetune', /missing required flag --task/],
    [['finetune', '--task', 'xyz', '--model', 'm'], 'finetune', /--task must be one of cls, entail, sim, mc; got "xyz"/],
    [['eval'], 'eval', /missing required flag --model/],
    [['eval', '--model', 'm', '--shots=-1'], 'eval', /--shots: "-1" is not a non-negative integer/],
    [['tokenizer', 'train', '--corpus', 'wordnet'], 'tokenizer train', /missing required flag --out/],
    [['data', 'prepare', '--tokenizer', 't.json', '--out', 'o'], 'data prepare', /needs --source/],
    [['bench', '--json', 'x'], 'bench', /unexpected argument "x"/],
  ])('%j: one line, exit 2', async (args, cmd, re) => {
    const r = await runIn(args as string[]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(re as RegExp);
    const prog = cmd ? `gptlab-train ${cmd}` : 'gptlab-train';
    expect(lines[0]!.startsWith(`${prog}: `)).toBe(true);
    expect(lines[0]!.endsWith(`; see ${prog} --help`)).toBe(true);
  });

  test('a failure that is not a usage error: one line, exit 1', async () => {
    const r = await runIn(['eval', '--model', path.join(root, 'no-such-model'), '--tasks', 'none']);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n').filter(Boolean).pop()).toMatch(/^gptlab-train eval: /);
  });

  test('unknown preset lists the valid ones', async () => {
    const r = await runIn(pre('p', '--preset', 'gpt5'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown preset "gpt5".*valid presets: .*gpt2-small/);
  });

  test('heads that do not divide the width', async () => {
    const r = await runIn(pre('h', '--n-head', '3'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--n-head 3 does not divide --n-embd 32/);
  });

  test('a context longer than the position table', async () => {
    const r = await runIn(pre('c', '--n-positions', '8'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--block-size 16 is longer than the model's context \(--n-positions 8\)/);
  });

  test('a --config file: unknown keys rejected, flags override it', async () => {
    const bad = path.join(root, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ 'n-layer': 1, colour: 'red' }));
    const r = await runIn(['pretrain', '--config', bad, '--data', shards.data]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--config .*bad.json: unknown setting "colour"/);
    const good = path.join(root, 'good.json');
    fs.writeFileSync(good, JSON.stringify({ nLayer: 1, nHead: 2, 'n-embd': 32, blockSize: 16, steps: 50 }));
    const ok = await runIn([
      'pretrain',
      '--config',
      good,
      '--data',
      shards.data,
      '--out',
      path.join(root, 'cfg'),
      ...'--steps 2 --batch-size 4 --workers 1 --sample-tokens 0'.split(' '),
    ]);
    expect(ok.stderr).toMatch(/done: step 2\/2/);
    expect(ok.code).toBe(0);
  });

  test('shards made with another tokenizer (hash mismatch)', async () => {
    const other = BPETokenizer.train(['completely different text for another vocabulary'], { vocabSize: 270, specialTokens: [ENDOFTEXT] });
    const file = path.join(root, 'other-tok.json');
    other.save(file);
    const r = await runIn(pre('t', '--tokenizer', file));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/were made with another tokenizer \(manifest tokenizerHash \w+, .*other-tok.json hashes to \w+\)/);
  });

  test('a NaN loss stops the run, names the step and the last good checkpoint, exit 3', async () => {
    const out = path.join(root, 'nan');
    const r = await runIn(
      pre('nan', '--lr', '1e6', '--warmup-steps', '0', '--steps', '30', '--checkpoint-every', '1', '--eval-every', '100'),
    );
    expect(r.code).toBe(3);
    const m =
      /(loss|weights|gradient norm) became (NaN|Infinity|-Infinity) at step (\d+): training stopped\. The last good checkpoint is (\S+) \(step (\d+)\)/.exec(
        r.stderr,
      );
    expect(m).not.toBeNull();
    const [, , , bad, dir, good] = m!;
    expect(Number(good)).toBeLessThan(Number(bad));
    expect(fs.existsSync(path.join(dir!, 'model.safetensors'))).toBe(true);
    expect(listCheckpoints(out).pop()!.step).toBe(Number(good));
  });
});

describe('gptlab-train pretrain on one plain-text file (nanoGPT input.txt)', () => {
  test('too few documents for a document split: validation is the last 5% of the tokens, and it trains', async () => {
    const input = path.join(root, 'input.txt');
    // Real prose, one document: WordNet glosses as lines of one text file.
    const glosses = loadWordNet()
      .synsets.slice(0, 3000)
      .map((s) => s.definition.trim())
      .filter(Boolean);
    fs.writeFileSync(input, glosses.join('\n') + '\n');
    const out = path.join(root, 'input-run');
    const r = await runIn(['pretrain', '--corpus', input, '--vocab-size', '300', '--out', out, ...TINY, '--steps', '2']);
    expect(r.stderr).toMatch(
      /data: 1 document, too few for a validation split by documents: validation will be the last 5% of the token stream/,
    );
    const m = /validation split by tokens: the last 5\.0% of the token stream \(([\d,]+) tokens/.exec(r.stderr);
    expect(m).not.toBeNull();
    const [, train, val] = /data: ([\d,]+) train \/ ([\d,]+) val tokens/.exec(r.stderr)!;
    const n = (x: string) => Number(x.replace(/,/g, ''));
    expect(n(val!)).toBe(n(m![1]!));
    expect(n(val!) / (n(train!) + n(val!))).toBeCloseTo(0.05, 3);
    expect(r.stderr).toMatch(/done: step 2\/2 .* val loss \d/);
    expect(r.code).toBe(0);
  }, 120000);
});

describe('gptlab-train finetune on the shared trainer', () => {
  const writeTask = (name: string, n: number) => {
    const file = path.join(root, name);
    const rows = Array.from({ length: n }, (_, i) =>
      JSON.stringify({ text: i % 2 ? 'the dog runs' : 'red stone water', label: i % 2 ? 'animal' : 'thing' }),
    );
    fs.writeFileSync(file, rows.join('\n') + '\n');
    return file;
  };
  let base: string;
  beforeAll(async () => {
    const r = await runIn(pre('ft-base', '--steps', '2'));
    expect(r.code).toBe(0);
    base = listCheckpoints(path.join(root, 'ft-base')).pop()!.dir;
  });
  const ft = (out: string, ...extra: string[]) => [
    ...'finetune --task cls --model'.split(' '),
    base,
    '--data',
    writeTask('ft-train.jsonl', 8),
    '--dev',
    writeTask('ft-dev.jsonl', 4),
    '--batch-size',
    '4',
    '--out',
    path.join(root, out),
    '--log-every',
    '1',
    ...extra,
  ];

  test('checkpoints every epoch, metrics.jsonl with the task and LM terms, the loss plot, and --resume', async () => {
    const out = path.join(root, 'ft');
    const r = await runIn([...ft('ft', '--epochs', '2', '--lr', '1e-3'), '--json']);
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(res.steps).toBe(4);
    expect(res.devAccuracy).toBeGreaterThanOrEqual(0);
    expect(listCheckpoints(out).map((c) => c.step)).toEqual([2, 4]);
    expect(fs.readFileSync(path.join(out, 'loss.svg'), 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>$/);
    const metrics = readMetrics(out) as Record<string, number | string>[];
    const train = metrics.filter((m) => m.type === 'train');
    expect(train.map((m) => m.step)).toEqual([1, 2, 3, 4]);
    for (const m of train) expect(m.loss as number).toBeCloseTo((m.task_loss as number) + 0.5 * (m.lm_loss as number), 4);
    expect(metrics.filter((m) => m.type === 'eval').map((m) => m.step)).toEqual([2, 4]);
    expect(r.stderr).toMatch(/step 4\/4 .* tok\/s/);
    // One more epoch from the last checkpoint: the run continues at step 5.
    const more = await runIn(['finetune', '--resume', out, '--epochs', '3', '--json']);
    expect(more.code).toBe(0);
    expect(more.stderr).toMatch(/resuming from .*step-000004 at step 4/);
    expect(JSON.parse(more.stdout).steps).toBe(6);
    expect(
      readMetrics(out)
        .filter((m) => m.type === 'train')
        .map((m) => m.step),
    ).toEqual([1, 2, 3, 4, 5, 6]);
    const bad = await runIn(['finetune', '--resume', out, '--lr', '1']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--lr cannot change when resuming/);
  }, 120000);

  test('a NaN loss stops fine-tuning with exit 3', async () => {
    const r = await runIn(ft('ft-nan', '--lr', '1e6', '--warmup-fraction', '0', '--epochs', '15'));
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /^gptlab-train finetune: (loss|weights|gradient norm|validation loss) became (NaN|-?Infinity) at step \d+: training stopped/m,
    );
  }, 120000);
});

describe('gptlab-train pretrain: signals and crashes', () => {
  test('Ctrl-C (SIGINT) saves a checkpoint at the step reached and exits 130; --resume finishes the run', async () => {
    const out = path.join(root, 'sigint');
    const child = spawnCli(
      pre('sigint', '--steps', '100000', '--checkpoint-every', '100000', '--eval-every', '100000', '--log-every', '1'),
    );
    let err = '';
    child.stderr!.on('data', (d) => {
      err += String(d);
      if (/step\s+3\//.test(err) && !child.killed) child.kill('SIGINT');
    });
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(err).toMatch(/Ctrl-C: finishing this step and saving a checkpoint/);
    expect(code).toBe(130);
    const cks = listCheckpoints(out);
    expect(cks).toHaveLength(1);
    const step = cks[0]!.step;
    expect(step).toBeGreaterThanOrEqual(3);
    const r = runCliSync(['pretrain', '--resume', out, '--steps', String(step + 2)]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`resuming from .* at step ${step}`));
    const train = readMetrics(out).filter((m) => m.type === 'train');
    expect(train.map((m) => m.step)).toEqual(Array.from({ length: step + 2 }, (_, i) => i + 1));
  }, 60000);

  test('SIGKILL at any moment leaves the last complete checkpoint loadable', async () => {
    const out = path.join(root, 'kill');
    const child = spawnCli(
      pre('kill', '--steps', '100000', '--checkpoint-every', '1', '--eval-every', '100000', '--keep-checkpoints', '2'),
    );
    let err = '';
    let seen = 0;
    child.stderr!.on('data', (d) => {
      err += String(d);
      seen = (err.match(/checkpoint: /g) ?? []).length;
      // kill while the next checkpoint is probably being written
      if (seen >= 3 && !child.killed) setTimeout(() => child.kill('SIGKILL'), 3);
    });
    await new Promise((r) => child.on('exit', r));
    const cks = listCheckpoints(out);
    expect(cks.length).toBeGreaterThanOrEqual(1);
    const r = runCliSync(['pretrain', '--resume', out, '--steps', String(cks[cks.length - 1]!.step + 1)]);
    expect(r.stderr).toMatch(/done: step/);
    expect(r.code).toBe(0);
  }, 60000);
});

describe('gptlab-train tokenizer and data wrappers', () => {
  test('tokenizer train + encode', async () => {
    const corpus = path.join(root, 'corpus.jsonl');
    const out = path.join(root, 'tok.json');
    const t = await runIn(['tokenizer', 'train', '--corpus', corpus, '--vocab-size', '280', '--out', out]);
    expect(t.code).toBe(0);
    expect(t.stderr).toMatch(/trained 280 tokens on 300 documents/);
    const tok = BPETokenizer.load(out);
    const e = runCliSync(['tokenizer', 'encode', '--tokenizer', out], { input: 'the dog runs' });
    expect(e.code).toBe(0);
    expect(e.stdout.trim().split(' ').map(Number)).toEqual(tok.encode('the dog runs'));
    // the same vocabulary as GPT-2 files (vocab.json + merges.txt) through --gpt2
    const gdir = path.join(root, 'gpt2files');
    fs.mkdirSync(gdir, { recursive: true });
    tok.saveGPT2Files(gdir);
    const g = runCliSync(['tokenizer', 'encode', '--gpt2', gdir, '--json'], { input: 'the dog runs' });
    expect(g.code).toBe(0);
    expect(JSON.parse(g.stdout)).toEqual(tok.encode('the dog runs'));
    const bad = await runIn(['tokenizer', 'encode']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/needs --tokenizer FILE or --gpt2 DIR/);
  });

  test('data dedup names every removed document and its kept duplicate', async () => {
    const input = path.join(root, 'docs.jsonl');
    const base = 'the quick brown fox jumps over the lazy dog near the river bank on a sunny day in may';
    fs.writeFileSync(
      input,
      [
        { id: 'a', text: base },
        { id: 'b', text: 'completely different words about cooking pasta with tomato sauce and fresh basil leaves tonight' },
        { id: 'c', text: base },
        { id: 'd', text: base + ' again' },
      ]
        .map((d) => JSON.stringify(d))
        .join('\n') + '\n',
    );
    const out = path.join(root, 'kept.jsonl');
    const report = path.join(root, 'report.json');
    const r = await runIn(['data', 'dedup', '--input', input, '--field', 'text', '--threshold', '0.8', '--out', out, '--report', report]);
    expect(r.code).toBe(0);
    const dups = (JSON.parse(fs.readFileSync(report, 'utf8')) as { duplicates: { id: string; duplicateOf: string }[] }).duplicates;
    expect(dups.map((d) => [d.id, d.duplicateOf]).sort()).toEqual([
      ['c', 'a'],
      ['d', 'a'],
    ]);
    expect(
      fs
        .readFileSync(out, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).id),
    ).toEqual(['a', 'b']);
  });

  test('data prepare writes shards the trainer accepts', async () => {
    const out = path.join(root, 'prep');
    const r = await runIn([
      'data',
      'prepare',
      '--source',
      path.join(root, 'corpus.jsonl'),
      '--tokenizer',
      shards.tokenizer,
      '--out',
      out,
      '--no-near-dedup',
    ]);
    expect(r.code).toBe(0);
    expect(fs.existsSync(path.join(out, 'manifest.json'))).toBe(true);
    const t = await runIn(['pretrain', '--data', out, '--out', path.join(root, 'prep-run'), ...TINY, '--steps', '1']);
    expect(t.code).toBe(0);
  });
});

describe('gptlab-train bench and demo', () => {
  test('bench --json prints one JSON line with throughput, MFU and the parameter count', () => {
    const shape = '--n-layer 1 --n-head 2 --n-embd 32 --block-size 16 --batch-size 4 --vocab-size 64 --steps 2 --warmup 1'.split(' ');
    for (const workers of ['1', '2']) {
      const r = runCliSync(['bench', '--json', ...shape, '--workers', workers]);
      expect(r.code).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines).toHaveLength(1);
      const j = JSON.parse(lines[0]!);
      expect(j.workers).toBe(Number(workers));
      expect(j.backend).toMatch(/^(wasm|tensorflow|cpu)$/);
      expect(j.tokens_per_sec).toBeGreaterThan(0);
      expect(j.mfu).toBeGreaterThan(0);
      // 1 block of width 32: 12·C² + 13·C, plus wte 64×32, wpe 16×32, ln_f 2×32
      expect(j.params).toBe(12 * 32 * 32 + 13 * 32 + 64 * 32 + 16 * 32 + 64);
      expect(j.model_flops_per_token).toBe(6 * (j.params - 16 * 32) + 12 * 1 * 32 * 16);
      // The step split (rounded to 0.1 ms each) and the cores used, as bench/train-vs-torch.ts quotes them.
      expect(j.split_ms_per_step.gradients).toBeGreaterThan(0);
      expect(Math.abs(j.split_ms_per_step.gradients + j.split_ms_per_step.norm_clip_optimizer - j.ms_per_step)).toBeLessThanOrEqual(0.11);
      expect(j.cpu.self_cores).toBeGreaterThan(0);
    }
  }, 60000);

  test('demo --steps N runs the whole pipeline on WordNet and prints validation loss and two kinds of samples', () => {
    const out = path.join(root, 'demo');
    const r = runCliSync(
      [
        ...'demo --steps 2 --out'.split(' '),
        out,
        ...'--vocab-size 300 --n-layer 1 --n-head 2 --n-embd 32 --block-size 16 --batch-size 4 --sample-tokens 4 --prompt'.split(' '),
        'a dog is',
      ],
      { timeout: 170000 },
    );
    expect(r.stderr).toMatch(/tokenizer: trained 300 tokens on [\d,]+ documents/);
    expect(r.stderr).toMatch(/data: [\d,]+ train \/ [\d,]+ val documents/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/validation loss \d+\.\d+ \(perplexity [\d.]+\) after 2 steps/);
    expect(r.stdout).toMatch(/greedy {11}: "a dog is/);
    expect(r.stdout).toMatch(/top-p 0\.9, T 0\.8 : "a dog is/);
    expect(listCheckpoints(out).map((c) => c.step)).toEqual([2]);
  }, 180000);
});
