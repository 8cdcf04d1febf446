import { PassThrough, Readable } from 'node:stream';
import type { CliIO } from '../../src/commands/shared';

export function captureIO(stdinText = ''): { io: CliIO; out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let o = '';
  let e = '';
  stdout.on('data', (c) => (o += c));
  stderr.on('data', (c) => (e += c));
  return { io: { stdout, stderr, stdin: Readable.from([stdinText]) }, out: () => o, err: () => e };
}
