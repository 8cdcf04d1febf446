// Environment variables where there are any: Node's process.env, nothing in a browser (no `process` there).
export function envVar(name: string): string | undefined {
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return proc?.env?.[name];
}
