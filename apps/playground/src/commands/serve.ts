// gptlab-playground serve: the web UI and the HTTP API over a directory of checkpoints.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError, withDefaults, type Command, type FlagSpecs } from '@gptlab/common/node';
import { DEFAULT_LIMITS } from '../requests';
import { MODEL_FLAGS, type CliIO } from './shared';

export function serveCommand(io: CliIO): Command {
  const flags: FlagSpecs = {
    models: { type: 'string', required: true, metavar: 'DIR', help: 'a directory whose subdirectories are checkpoints' },
    port: { type: 'int', min: 0, max: 65535, default: 3000, help: 'port to listen on (0: any free port)' },
    host: { type: 'string', default: '127.0.0.1', help: 'address to listen on' },
    'max-new-tokens': { type: 'int', min: 1, default: DEFAULT_LIMITS.maxNewTokens, help: 'the largest maxNewTokens a request may ask for' },
    'ignore-eos': MODEL_FLAGS['ignore-eos']!,
  };
  return {
    name: 'serve',
    summary: 'the web UI and the HTTP API over a directory of checkpoints',
    usage: 'serve --models DIR [--port 3000] [--host 127.0.0.1]',
    details: 'Then open http://HOST:PORT. API: GET /api/models, /api/schema; POST /api/generate, /api/attention (see the README).',
    flags,
    async run(args) {
      const f = withDefaults(flags, args.flags);
      const models = f.models as string;
      if (!fs.existsSync(models) || !fs.statSync(models).isDirectory()) throw new UsageError(`--models: ${models} is not a directory`);
      const { initBackend, describeBackend } = await import('@gptlab/tensor');
      await initBackend();
      io.stderr.write(`${describeBackend()}\n`);
      const { realRegistry } = await import('../real');
      const { createServer } = await import('../server');
      const registry = realRegistry(models, { stopAtEos: f['ignore-eos'] !== true });
      const names = await registry.list();
      io.stderr.write(
        `models in ${path.resolve(models)}: ${names.length ? names.join(', ') : '(none: each model is a subdirectory with config.json)'}\n`,
      );
      const app = await createServer({ registry, limits: { maxNewTokens: f['max-new-tokens'] as number } });
      const address = await app.listen({ port: f.port as number, host: f.host as string });
      io.stdout.write(`gptlab playground on ${address}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => void app.close().then(resolve, resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      return 0;
    },
  };
}
