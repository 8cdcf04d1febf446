// The tokenizer's one seam to the file system. The Node entry ('@gptlab/tokenizer' under Node) installs the
// fs implementation (node-file-io.ts); the browser entry installs none, so the path-taking methods
// (fromGPT2Files, fromDir, load, save, saveGPT2Files) fail with one line pointing at the in-memory loaders
// (fromFiles, fromJSON, fromGPT2Strings), and nothing in a browser bundle requires a Node built-in.

export interface TokenizerFileIO {
  /** A file's UTF-8 text; throws an Error whose message says why (e.g. ENOENT). */
  readText(file: string): string;
  exists(file: string): boolean;
  /** Writes atomically: readers never see a half-written file. */
  writeText(file: string, text: string): void;
  join(dir: string, name: string): string;
  basename(file: string): string;
}

let installed: TokenizerFileIO | null = null;

export function setTokenizerFileIO(io: TokenizerFileIO | null): void {
  installed = io;
}

/** The installed file I/O, or an error naming the method that needed it. */
export function fileIO(method: string): TokenizerFileIO {
  if (installed) return installed;
  throw new Error(
    `BPETokenizer.${method} uses files, which needs Node; in a browser load from contents with ` +
      'BPETokenizer.fromFiles({ "tokenizer.json": text }) / fromJSON / fromGPT2Strings',
  );
}

/** A file's text, or an error naming the caller and the file. */
export function readText(file: string, method: string): string {
  const io = fileIO(method);
  try {
    return io.readText(file);
  } catch (e) {
    const err = e as { code?: string; message?: string };
    throw new Error(`${method}: cannot read ${file} (${err.code ?? err.message})`);
  }
}
