// Extension-host tests of Submit to Slurm: a real one-node Slurm cluster (started by
// slurm.e2e.test.mjs) and the installed extension's bundled `cvw submit`.
'use strict';
const { runFolder } = require('../framework');

module.exports = { run: () => runFolder(__dirname) };
