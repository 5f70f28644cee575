#!/usr/bin/env node
'use strict';
// The `cvw` command. The TypeScript sources are compiled to dist/lib by `npm run build`
// (run automatically by `npm ci` / `npm install` through the `prepare` script).
const path = require('node:path');
const fs = require('node:fs');
const entry = path.join(__dirname, '..', 'dist', 'lib', 'cli', 'main.js');
if (!fs.existsSync(entry)) {
  process.stderr.write('cvw: not built yet — run `npm run build` in ' + path.dirname(__dirname) + '\n');
  process.exit(1);
}
require(entry).main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write('cvw: ' + (err && err.stack ? err.stack : err) + '\n'); process.exitCode = 1; },
);
