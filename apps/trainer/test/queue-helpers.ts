// A real redis-server for the queue tests (started on a free loopback port, stopped afterwards) and spawned
// gptlab-train processes. Nothing is mocked; without redis-server the tests skip with a message.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { Rng } from '@gptlab/common';
import { CLI } from './helpers';
import { REDIS_SERVER, startLocalRedis, type LocalRedis } from '../src/queue/local-redis';

/** describe, or describe.skip with a note saying why. */
export function describeWithRedis(name: string, body: () => void): void {
  if (REDIS_SERVER) describe(name, body);
  else {
    // eslint-disable-next-line no-console
    console.warn(`skipping "${name}": redis-server is not installed (apt-get install redis-server)`);
    describe.skip(name, body);
  }
}

export type RedisServer = LocalRedis;
export const startRedis = (): Promise<RedisServer> => startLocalRedis();

/** A spawned gptlab-train process with its output collected. */
export interface Spawned {
  proc: ChildProcess;
  out: () => string;
  /** Resolves when the output matches `re` (rejects after `ms`). */
  waitFor: (re: RegExp, ms?: number) => Promise<void>;
  exited: Promise<number | null>;
}

export function spawnTrain(args: string[]): Spawned {
  const proc = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const listeners: (() => void)[] = [];
  const onData = (d: Buffer) => {
    text += String(d);
    for (const l of [...listeners]) l();
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  const exited = new Promise<number | null>((r) => proc.on('exit', (c) => r(c)));
  return {
    proc,
    out: () => text,
    exited,
    waitFor: (re, ms = 60000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re} in:\n${text}`)), ms);
        const check = () => {
          if (!re.test(text)) return;
          clearTimeout(timer);
          listeners.splice(listeners.indexOf(check), 1);
          resolve();
        };
        listeners.push(check);
        check();
      }),
  };
}

/** Stops the processes that are still running (SIGKILL: the tests are over). */
export async function killAll(procs: Spawned[]): Promise<void> {
  for (const p of procs) if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGKILL');
  await Promise.all(procs.map((p) => p.exited));
}

/** A JSONL corpus with exact duplicates, near duplicates (one word changed) and an empty text. */
export function writeDupCorpus(dir: string, docs = 400, seed = 3): string {
  const words = 'the a dog cat bird runs jumps sleeps eats small large red blue green quickly slowly house tree river stone'.split(' ');
  const rng = new Rng(seed);
  const originals: string[] = [];
  const lines: string[] = [];
  for (let i = 0; i < docs; i++) {
    let text: string;
    const r = rng.next();
    if (originals.length > 20 && r < 0.15) text = originals[rng.int(originals.length)]!;
    else if (originals.length > 20 && r < 0.3) {
      const w = originals[rng.int(originals.length)]!.split(' ');
      w[rng.int(w.length)] = words[rng.int(words.length)]!;
      text = w.join(' ');
    } else {
      text = Array.from({ length: 10 + rng.int(20) }, () => words[rng.int(words.length)]!).join(' ') + ` n${i}`;
      originals.push(text);
    }
    lines.push(JSON.stringify({ id: `d${i}`, text }));
  }
  lines.push(JSON.stringify({ id: 'empty', text: ' ' }));
  const file = path.join(dir, 'dups.jsonl');
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

/** `data dedup ... --queue URL` arguments. */
export function queuedDedupArgs(input: string, out: string, url: string, ...extra: string[]): string[] {
  return ['data', 'dedup', '--input', input, '--out', out, '--queue', url, ...extra];
}

/** Waits for a process to exit 0; otherwise fails with its output (what went wrong is in there). */
export async function expectExit0(p: Spawned): Promise<void> {
  const code = await p.exited;
  if (code !== 0) throw new Error(`exit code ${code}; output:\n${p.out()}`);
}
