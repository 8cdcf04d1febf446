export interface MachineInfo {
  cpu: string;
  cores: number;
  node: string;
  others_cores: number | null;
}
export function machine(): MachineInfo;
export function othersCores(ms?: number): number | null;
export function time(
  fn: () => unknown | Promise<unknown>,
  opts?: { warmup?: number; iters?: number; minSeconds?: number },
): Promise<{ median: number; min: number; runs: number }>;
export function emit(record: Record<string, unknown>): void;
export function parseFlags(argv?: string[]): Record<string, string | true>;
