#!/usr/bin/env node
'use strict';
// The `cvw` command. The TypeScript sources are compiled to dist/lib by `npm run build`
// (run automatically by `npm ci` / `npm install` through the `prepare` script).
const path = require('node:path');
const fs = require('node:fs');
const lib = path.join(__dirname, '..', 'dist', 'lib');
const entry = path.join(lib, 'cli', 'main.js');
if (!fs.existsSync(entry)) {
  process.stderr.write('cvw: not built yet — run `npm run build` in ' + path.dirname(__dirname) + '\n');
  process.exit(1);
}
const argv = process.argv.slice(2);
// Engine-heavy commands run in a second process under glibc malloc settings that keep freed
// tensor memory (dist/lib/cli/relaunch.js says why); this one only passes signals on.
const launcher = require(path.join(lib, 'cli', 'relaunch.js'));
if (launcher.shouldRelaunch(argv)) {
  launcher.relaunch(process.argv[1], argv);
} else {
  launcher.followLauncher();
  require(entry).main(argv).then(
    (code) => { process.exitCode = code; },
    (err) => { process.stderr.write('cvw: ' + (err && err.stack ? err.stack : err) + '\n'); process.exitCode = 1; },
  );
}
