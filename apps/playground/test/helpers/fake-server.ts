// The fake-model server both server test files start: a models directory with two fake checkpoints, and
// directories beside it that a request must never reach.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createServer } from '../../src/server';
import type { JobQueue } from '../../src/queue';
import { FakeRegistry } from './fake-model';

export interface FakeServerDirs {
  tmp: string;
  modelsDir: string;
}

/** Creates the directories in beforeAll and removes them in afterAll; returns a live view of their paths. */
export function useFakeModelsDir(): FakeServerDirs {
  const dirs: FakeServerDirs = { tmp: '', modelsDir: '' };
  beforeAll(() => {
    dirs.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'playground-'));
    dirs.modelsDir = path.join(dirs.tmp, 'models');
    for (const d of ['models/tiny', 'models/other', 'secret', 'models-evil']) {
      fs.mkdirSync(path.join(dirs.tmp, d), { recursive: true });
      fs.writeFileSync(path.join(dirs.tmp, d, 'config.json'), '{}');
    }
    fs.mkdirSync(path.join(dirs.modelsDir, 'not-a-model'));
  });
  afterAll(() => fs.rmSync(dirs.tmp, { recursive: true, force: true }));
  return dirs;
}

/** A server over fake models 'other' and 'tiny' (each call gets a fresh registry). */
export async function makeFakeServer(
  modelsDir: string,
  delayMs = 0,
  queue?: JobQueue,
): Promise<{ app: FastifyInstance; reg: FakeRegistry }> {
  const reg = new FakeRegistry(modelsDir, ['other', 'tiny'], delayMs);
  const app = await createServer({ registry: reg, queue, limits: { maxNewTokens: 50 } });
  return { app, reg };
}
