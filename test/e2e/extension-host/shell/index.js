// Extension-host tests of the extension's shell: activation, commands, diagnostics.
'use strict';
const { runFolder } = require('../framework');

module.exports = { run: () => runFolder(__dirname) };
