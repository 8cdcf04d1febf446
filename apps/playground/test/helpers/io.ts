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

/** The events of a server-sent-event body, in order, with their JSON data. */
export function parseSSE(body: string): { event: string; data: any }[] {
  return body
    .split('\n\n')
    .filter((c) => c.trim())
    .map((c) => {
      const lines = c.split('\n');
      return {
        event: lines.find((l) => l.startsWith('event: '))!.slice(7),
        data: JSON.parse(lines.find((l) => l.startsWith('data: '))!.slice(6)),
      };
    });
}
