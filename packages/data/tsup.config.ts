import { library } from '../../tooling/tsup/library';

// The MinHash worker is an entry of its own, so that dist/minhash-worker.{js,cjs} exist next to the library.
export default library({ entry: ['src/index.ts', 'src/minhash-worker.ts'] });
