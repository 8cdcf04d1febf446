import { library } from '../../tooling/tsup/library';

export default library();
