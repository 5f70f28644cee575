// Extension-host tests of the config language features: completion, hover, definitions, quick
// fixes, outline, CodeLens and custom components, through VS Code's own provider commands.
'use strict';
const { runFolder } = require('../framework');

module.exports = { run: () => runFolder(__dirname) };
