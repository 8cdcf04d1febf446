// Worker thread of MinHashPool: computes MinHash batches with the shared kernel. Built as its own entry
// (dist/minhash-worker.js and .cjs) and started by MinHashPool with the seeds and n-gram size as workerData.
import { parentPort, workerData } from 'node:worker_threads';
import { computeBatch } from './minhash-kernel';

export interface MinHashWorkerData {
  seeds: number[];
  ngram: number;
}

/** A request: texts to hash, tagged with an id the reply carries back. */
export interface MinHashRequest {
  id: number;
  texts: string[];
}

const port = parentPort;
if (!port) throw new Error('minhash-worker.ts runs as a worker thread of MinHashPool, not on its own');
const { seeds: seedList, ngram } = workerData as MinHashWorkerData;
const seeds = Uint32Array.from(seedList);
port.on('message', (msg: MinHashRequest) => {
  try {
    const r = computeBatch(msg.texts, ngram, seeds);
    // Transfer the buffers (plain ArrayBuffers the kernel allocated) instead of copying them.
    const transfer = [r.sigs.buffer, r.offsets.buffer, r.data.buffer] as ArrayBuffer[];
    port.postMessage({ id: msg.id, sigs: r.sigs, offsets: r.offsets, data: r.data }, transfer);
  } catch (e) {
    port.postMessage({ id: msg.id, error: String((e as Error)?.stack ?? e) });
  }
});
