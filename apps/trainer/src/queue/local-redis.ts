// A throwaway redis-server on a free loopback port, for tests, benchmarks and trying the queue on one machine
// (no persistence: the queue's state lives as long as the process).
import * as fs from 'node:fs';
import * as net from 'node:net';
import { spawn } from 'node:child_process';

/** The redis-server binary where Debian's package (or a local build) puts it, if any. */
export const REDIS_SERVER = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => fs.existsSync(p));

export interface LocalRedis {
  url: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

const accepts = (port: number) =>
  new Promise<boolean>((r) => {
    const s = net.connect({ port, host: '127.0.0.1' }, () => {
      s.destroy();
      r(true);
    });
    s.once('error', () => r(false));
  });

/** Starts redis-server on a free loopback port and waits (at most 10 s) until it accepts connections. */
export async function startLocalRedis(binary = REDIS_SERVER): Promise<LocalRedis> {
  if (!binary) throw new Error('redis-server is not installed (apt-get install redis-server)');
  const port = await freePort();
  const proc = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const deadline = Date.now() + 10000;
  while (!(await accepts(port))) {
    if (proc.exitCode !== null) throw new Error(`redis-server exited with code ${proc.exitCode} on port ${port}`);
    if (Date.now() > deadline) throw new Error(`redis-server did not start on port ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () =>
      new Promise((r) => {
        if (proc.exitCode !== null) return r();
        proc.once('exit', () => r());
        proc.kill('SIGTERM');
      }),
  };
}
