/** Bad input data (a malformed line, a missing file): the message names the file and line or the field. */
export class DataInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataInputError';
  }
}
