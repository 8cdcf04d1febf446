// The progress line on stderr: step, loss, tokens/s, MFU, ETA. On a terminal it redraws one line; in logs
// it prints a line every `every` steps.
import type { StepRecord } from './loop';

export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function progressLine(r: StepRecord): string {
  const w = String(r.totalSteps).length;
  const pct = Math.floor((100 * r.step) / Math.max(1, r.totalSteps));
  const barW = 20;
  const filled = Math.round((barW * r.step) / Math.max(1, r.totalSteps));
  const bar = '█'.repeat(filled) + '░'.repeat(barW - filled);
  const mfu = r.mfu === null ? '' : ` · MFU ${(100 * r.mfu).toFixed(1)}%`;
  return (
    `step ${String(r.step).padStart(w)}/${r.totalSteps} ${bar} ${String(pct).padStart(3)}% · loss ${r.loss.toFixed(4)} · lr ${r.lr.toExponential(2)}` +
    ` · ${Math.round(r.tokensPerSec).toLocaleString('en-US')} tok/s${mfu} · ETA ${formatDuration(r.etaSeconds)}`
  );
}

export class Progress {
  private lastLen = 0;
  constructor(
    private readonly write: (s: string) => void,
    private readonly tty: boolean,
    private readonly every = 10,
  ) {}

  step(r: StepRecord): void {
    const line = progressLine(r);
    if (this.tty) {
      this.write('\r' + line + ' '.repeat(Math.max(0, this.lastLen - line.length)));
      this.lastLen = line.length;
    } else if (r.step % this.every === 0 || r.step === r.totalSteps || r.step === 1) this.write(line + '\n');
  }

  /** Prints a message on its own line (ends a redrawn progress line first). */
  log(msg: string): void {
    if (this.tty && this.lastLen) {
      this.write('\n');
      this.lastLen = 0;
    }
    this.write(msg + '\n');
  }

  end(): void {
    if (this.tty && this.lastLen) this.write('\n');
    this.lastLen = 0;
  }
}
