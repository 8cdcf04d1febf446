#!/usr/bin/env node
// `pnpm demo`: the project's main job. Runs the trainer's demo (WordNet → tokenizer → clean + dedup →
// pretrain a small GPT → samples); `pnpm build` first.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const trainerCli = path.join(root, 'apps/trainer/dist/cli.js');
// `pnpm demo -- --steps 20` may pass the separator through.
const args = process.argv.slice(2).filter((a, i) => !(i === 0 && a === '--'));
let r;
if (existsSync(trainerCli)) {
  r = spawnSync(process.execPath, [trainerCli, 'demo', ...args], { stdio: 'inherit' });
} else {
  console.error('apps/trainer is not built: run `pnpm build` first. Showing the backend and matmul speed:');
  r = spawnSync('pnpm', ['--filter', '@gptlab/tensor', 'bench', '--', '--json'], { stdio: 'inherit', cwd: root });
}
process.exit(r.status ?? 1);
