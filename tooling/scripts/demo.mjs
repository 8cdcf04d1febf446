#!/usr/bin/env node
// `pnpm demo`: the project's main job, the trainer's demo (WordNet → tokenizer → clean + dedup → pretrain a
// small GPT → samples). `pnpm demo -- --steps 20` is the smoke test; any other flag goes to
// `gptlab-train demo` (see `pnpm demo -- --help`). When the trainer is not built yet, `pnpm build` runs first
// (turbo: cached, so only what is missing is built); if that fails, this says so in one line and stops.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const trainerCli = path.join(root, 'apps/trainer/dist/cli.js');
// `pnpm demo -- --steps 20` may pass the separator through.
const args = process.argv.slice(2).filter((a, i) => !(i === 0 && a === '--'));

/** pnpm itself: the one running this script when there is one, else the one on PATH. */
function pnpm(argv) {
  const execPath = process.env.npm_execpath;
  const viaNode = execPath && /pnpm/.test(path.basename(execPath)) && /\.[cm]?js$/.test(execPath);
  return viaNode
    ? spawnSync(process.execPath, [execPath, ...argv], { stdio: 'inherit', cwd: root })
    : spawnSync('pnpm', argv, { stdio: 'inherit', cwd: root, shell: process.platform === 'win32' });
}

if (!existsSync(trainerCli)) {
  console.error('pnpm demo: apps/trainer is not built yet: running `pnpm build` first (turbo, cached)');
  const build = pnpm(['build']);
  if (build.status !== 0 || !existsSync(trainerCli)) {
    const why = build.error ? build.error.message : `exit code ${build.status ?? build.signal}`;
    console.error(`pnpm demo: \`pnpm build\` failed (${why}); fix the build, then run \`pnpm demo\` again`);
    process.exit(1);
  }
}
const r = spawnSync(process.execPath, [trainerCli, 'demo', ...args], { stdio: 'inherit' });
process.exit(r.status ?? (r.signal === 'SIGINT' ? 130 : 1));
