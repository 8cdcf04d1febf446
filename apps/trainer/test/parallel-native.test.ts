// Data-parallel workers with the native kernels (@gptlab/tensor-native). They used to hang: the addon had one
// thread pool per process, and two worker_threads posting jobs to it at once overwrote each other's job and
// waited forever. The run happens in a child process with a hard limit, so a regression fails this test
// instead of leaving a jest run that never exits (a thread stuck in native code cannot be terminated).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as path from 'node:path';

const req = createRequire(__filename);

interface Run {
  losses: number[];
  workerNative: boolean;
  leaked: number;
}

test('2 workers on the native kernels finish and give the losses of 1 thread, step by step', () => {
  const child = path.join(__dirname, 'parallel-native-child.ts');
  const code = `require(${JSON.stringify(req.resolve('tsx/cjs/api'))}).register(); require(${JSON.stringify(child)});`;
  const r = spawnSync(process.execPath, ['-e', code], {
    encoding: 'utf8',
    timeout: 90_000,
    killSignal: 'SIGKILL',
    env: { ...process.env, GPTLAB_BACKEND: 'wasm' },
  });
  if (r.signal === 'SIGKILL') throw new Error(`the native data-parallel run hung (killed after 90 s)\n${r.stderr.slice(-2000)}`);
  if (r.status !== 0) throw new Error(`the native data-parallel run failed (exit ${r.status})\n${r.stderr.slice(-2000)}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { skipped?: string; single: Run; parallel: Run; again: Run };
  if (out.skipped) {
    console.warn(`skipped: ${out.skipped}`);
    return;
  }
  const { single, parallel, again } = out;
  expect(parallel.workerNative).toBe(true);
  expect(single.losses.length).toBe(6);
  expect(single.losses[5]!).toBeLessThan(single.losses[0]!); // it learns
  single.losses.forEach((l, i) => expect(parallel.losses[i]!).toBeCloseTo(l, 4));
  expect(again.losses).toEqual(single.losses);
  expect(again.leaked).toBe(0);
  expect(parallel.leaked).toBe(0);
}, 120_000);
