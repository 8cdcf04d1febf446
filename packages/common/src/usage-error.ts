// A bad command-line or request input: one line naming the flag or field, exit code 2. Browser-safe (it is
// on the root entry) so that packages validating user input need not import the Node-only CLI kit.
export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
