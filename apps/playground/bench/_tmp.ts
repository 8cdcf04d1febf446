import * as path from 'node:path';
import { RealModel } from '../src/real';
async function main() {
  const model = await RealModel.load(path.resolve('test/fixtures/demo'), 'demo', { stopAtEos: false });
  const prompt = model.encode('The quick brown');
  const req = { promptIds: prompt, strategy: { type: 'greedy' as const }, maxNewTokens: 40, stop: [] };
  const a: number[] = [], b: number[] = [];
  for (let r = 0; r < 8; r++) {
    let t0 = performance.now(); await model.generate(req); a.push(performance.now() - t0);
    t0 = performance.now(); await model.generate(req, { signal: new AbortController().signal, onToken: () => undefined }); b.push(performance.now() - t0);
  }
  const med = (x: number[]) => x.sort((p, q) => p - q)[4]!.toFixed(0);
  console.log(`plain ${med(a)} ms, signal+stream ${med(b)} ms`);
}
main();
