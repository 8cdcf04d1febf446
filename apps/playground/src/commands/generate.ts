// gptlab-playground generate: one run of a checkpoint, streamed as text or printed as one JSON object.
import { UsageError, type Command } from '@gptlab/common/node';
import { strategyFlagSpecs, strategyFromFlags } from '@gptlab/decoding';
import { checkAgainstModel, generationDefaults } from '../requests';
import { readImageFile, type ImageInput } from '../vision';
import type { GenerateRequest, LoadedModel } from '../types';
import { MODEL_FLAGS, asUsageError, checkpointDir, resultLine, writeBackendLine, type CliIO, type CheckpointLoader } from './shared';

export function generateCommand(io: CliIO, load: CheckpointLoader): Command {
  return {
    name: 'generate',
    summary: 'one run of a checkpoint: streams the text, or prints one JSON object with --json',
    usage: 'generate --model DIR (--prompt TEXT | --prompt-ids 1,2,3) [--image FILE.png] [decoding flags] [--json]',
    details: [
      'Defaults as Hugging Face generate: greedy search, 20 new tokens, stop at the end-of-text token.',
      '--json prints {"ids", "text", "logprobs", "score", "finishReason"} (and "sequences" when several).',
      'Example: generate --model test/fixtures/demo --prompt "The quick" --strategy sample --top-p 0.9 --seed 1',
      '--image: a vision checkpoint (gptlab-train vision) reads the PNG as visual tokens before the prompt, e.g.',
      '  generate --model runs/vision/checkpoints/step-001000 --image word.png --prompt "read:"',
    ].join('\n'),
    flags: {
      ...MODEL_FLAGS,
      prompt: { type: 'string', metavar: 'TEXT', help: 'the prompt text' },
      image: { type: 'string', metavar: 'FILE', help: 'a PNG the model reads before the prompt (vision checkpoints)' },
      'prompt-ids': { type: 'list', metavar: 'ID,...', help: 'the prompt as token ids' },
      json: { type: 'bool', help: 'print the result as one JSON object' },
      ...strategyFlagSpecs(),
    },
    async run({ flags }) {
      const dir = checkpointDir('--model', flags.model as string);
      const text = flags.prompt as string | undefined;
      const idsFlag = flags['prompt-ids'] as string[] | undefined;
      if ((text === undefined) === (idsFlag === undefined)) throw new UsageError('give exactly one of --prompt TEXT or --prompt-ids 1,2,3');
      if (text === '') throw new UsageError('--prompt must not be empty');
      const ids = idsFlag?.map((p, i) => {
        if (!/^\d+$/.test(p.trim())) throw new UsageError(`--prompt-ids: item ${i} (${JSON.stringify(p)}) is not a token id`);
        return Number(p);
      });
      strategyFromFlags(flags); // bad decoding flags are reported before the model loads
      const model = await load(dir, { ignoreEos: flags['ignore-eos'] === true });
      try {
        const promptIds = ids ?? model.encode(text!);
        const strategy = strategyFromFlags(flags, { vocabSize: model.vocabSize, defaults: generationDefaults(model) });
        const req: GenerateRequest = { promptIds, strategy };
        if (typeof flags.image === 'string') req.image = await imageFlag(flags.image, model);
        asUsageError(() => {
          checkAgainstModel(promptIds, strategy.maxNewTokens, model, ids ? '--prompt-ids' : '--prompt');
          model.checkRequest?.(req);
        });
        await writeBackendLine(io);
        if (flags.json) {
          io.stdout.write(JSON.stringify(await model.generate(req)) + '\n');
          return 0;
        }
        const r = await model.generate(req, { onToken: (ev) => io.stdout.write(ev.text) });
        io.stdout.write('\n');
        io.stderr.write(resultLine(r) + '\n');
        for (const other of r.sequences?.slice(1) ?? []) {
          io.stdout.write(other.text + '\n');
          io.stderr.write(resultLine(other) + '\n');
        }
        return 0;
      } finally {
        model.dispose?.();
      }
    },
  };
}

/** --image FILE: a PNG at the size the model reads; a text model or a bad file is a usage error naming it. */
async function imageFlag(file: string, model: LoadedModel): Promise<ImageInput> {
  if (!model.imageSize) throw new UsageError(`--image: ${model.card.name} reads no images (its config.json has no vision_config)`);
  try {
    return await readImageFile(file, model.imageSize);
  } catch (e) {
    throw new UsageError(`--image: ${(e as Error).message}`);
  }
}
