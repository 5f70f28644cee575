import '../src/builtins';
import { checkConfig } from '../src/core/check';
const t = Date.now();
const { problems } = checkConfig(process.argv[2], { customImports: false });
console.log('check', Date.now() - t, problems.length);
