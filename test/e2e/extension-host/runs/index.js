// Extension-host tests of the runs feature: real `cvw train` children of the installed extension.
'use strict';
const { runFolder } = require('../framework');

module.exports = { run: () => runFolder(__dirname) };
