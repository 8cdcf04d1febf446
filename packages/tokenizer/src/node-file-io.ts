// The Node file system behind the tokenizer's file seam (file-io.ts); the Node entry installs it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '@gptlab/common/node';
import { setTokenizerFileIO } from './file-io';

export function installNodeFileIO(): void {
  setTokenizerFileIO({
    readText: (file) => fs.readFileSync(file, 'utf8'),
    exists: (file) => fs.existsSync(file),
    writeText: (file, text) => writeFileAtomic(file, text),
    join: (dir, name) => path.join(dir, name),
    basename: (file) => path.basename(file),
  });
}
