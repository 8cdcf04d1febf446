// gptlab-playground serve: the web UI and the HTTP API over a directory of checkpoints.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError, withDefaults, type Command, type FlagSpecs } from '@gptlab/common/node';
import { DEFAULT_MAX_BATCH } from '../batch-engine';
import { DEFAULT_MAX_QUEUE } from '../queue';
import { DEFAULT_LIMITS } from '../requests';
import { MODEL_FLAGS, type CliIO } from './shared';

export function serveCommand(io: CliIO): Command {
  const flags: FlagSpecs = {
    models: { type: 'string', required: true, metavar: 'DIR', help: 'a directory whose subdirectories are checkpoints' },
    port: { type: 'int', min: 0, max: 65535, default: 3000, help: 'port to listen on (0: any free port)' },
    host: { type: 'string', default: '127.0.0.1', help: 'address to listen on' },
    'max-new-tokens': { type: 'int', min: 1, default: DEFAULT_LIMITS.maxNewTokens, help: 'the largest maxNewTokens a request may ask for' },
    'ignore-eos': MODEL_FLAGS['ignore-eos']!,
    'max-batch': {
      type: 'int',
      min: 1,
      default: DEFAULT_MAX_BATCH,
      help: 'greedy / sample generations decoded together per model (continuous batching; 1: one at a time)',
    },
    'max-queue': {
      type: 'int',
      min: 0,
      default: DEFAULT_MAX_QUEUE,
      help: 'requests that may wait for a generation slot (per model for batched ones); past it: 429 with Retry-After',
    },
    'request-timeout': {
      type: 'float',
      min: 0,
      default: 120,
      metavar: 'SECONDS',
      help: 'stop a request (queue wait included) after this long: 504, or finish_reason "length" in a /v1 stream (0: never)',
    },
    'api-key': {
      type: 'string',
      metavar: 'KEY',
      help: 'require Authorization: Bearer KEY on /api and /v1 (default: env GPTLAB_API_KEY; unset: open)',
    },
    'log-level': {
      type: 'string',
      choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      default: 'info',
      help: "fastify's pino JSON logs on stdout (one line per request at info)",
    },
  };
  return {
    name: 'serve',
    summary: 'the web UI and the HTTP API over a directory of checkpoints',
    usage: 'serve --models DIR [--port 3000] [--host 127.0.0.1]',
    details:
      'Then open http://HOST:PORT. API: GET /api/models, /api/schema; POST /api/generate, /api/attention; OpenAI-compatible: GET /v1/models, POST /v1/completions, /v1/chat/completions (see the README).',
    flags,
    async run(args) {
      const f = withDefaults(flags, args.flags);
      const models = f.models as string;
      if (!fs.existsSync(models) || !fs.statSync(models).isDirectory()) throw new UsageError(`--models: ${models} is not a directory`);
      const apiKey = (f['api-key'] as string | undefined) ?? process.env.GPTLAB_API_KEY;
      if (apiKey !== undefined && apiKey.length === 0) throw new UsageError('--api-key: the key must not be empty');
      const { initBackend, describeBackend } = await import('@gptlab/tensor');
      await initBackend();
      io.stderr.write(`${describeBackend()}\n`);
      const { realRegistry } = await import('../real');
      const { createServer } = await import('../server');
      const { JobQueue } = await import('../queue');
      const registry = realRegistry(models, { stopAtEos: f['ignore-eos'] !== true, maxBatch: f['max-batch'] as number });
      const names = await registry.list();
      io.stderr.write(
        `models in ${path.resolve(models)}: ${names.length ? names.join(', ') : '(none: each model is a subdirectory with config.json)'}\n`,
      );
      const app = await createServer({
        registry,
        limits: { maxNewTokens: f['max-new-tokens'] as number },
        queue: new JobQueue(1, f['max-queue'] as number),
        requestTimeoutS: f['request-timeout'] as number,
        apiKey,
        logger: f['log-level'] as string,
      });
      const address = await app.listen({ port: f.port as number, host: f.host as string });
      io.stdout.write(`gptlab playground on ${address}${apiKey ? ' (API key required on /api and /v1)' : ''}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => void app.close().then(resolve, resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      return 0;
    },
  };
}
