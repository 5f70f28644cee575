// Lists the exports of src/ that nothing uses: `node scripts/dead-exports.mjs [--own-file] [--json]`.
//
// The TypeScript compiler reads src/, test/, bench/, webview/, bin/ and scripts/ (JavaScript
// included) as one program; every identifier outside a symbol's own file that the checker resolves
// to it (through imports, re-exports, `import * as ns` and `ns.name`, `typeof import()` types)
// counts as a use. What remains is either dead (used nowhere: remove it; exit status 1) or, with
// --own-file, also those used only in their own file (the `export` could go; a type in an exported
// signature may need to stay). The public Node API (src/api) and the entry points that other
// programs load by path (ENTRY_POINTS) are kept.
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Files whose exports other programs use by name, not by an import the compiler can follow. */
const ENTRY_POINTS = {
  'src/api/': 'the public Node API (package.json "exports")',
  'src/extension/extension.ts': 'activate/deactivate: VS Code loads dist/extension.js',
  'src/cli/main.ts': 'main: bin/cvw.js and the bundled dist/cli/cvw.js require it by path',
  'src/builtins.ts': 'imported for its registrations',
  'src/core/jsonSchema.ts': 'generateJsonSchema: scripts/write-schema.mjs requires dist/lib/core/jsonSchema.js by path',
  'src/engine/gradients.ts': 'buildGradientBundle: scripts/build.mjs requires dist/lib/engine/gradients.js by path',
  'src/data/workers/sampleWorker.ts': 'the loader starts it as a worker thread by path',
};

const SCANNED = ['src', 'test', 'bench', 'webview', 'bin', 'scripts'];
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'fixtures', '.e2e']);

function sourceFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (!SKIPPED_DIRS.has(name)) out.push(...sourceFiles(p));
    } else if (/\.(ts|mts|js|mjs|cjs)$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const rel = (file) => relative(root, file).split(sep).join('/');

export function deadExports() {
  const files = SCANNED.flatMap((d) => sourceFiles(join(root, d)));
  const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.check.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  const program = ts.createProgram(files, { ...config.options, allowJs: true, checkJs: false, noEmit: true });
  const checker = program.getTypeChecker();
  const original = (s) => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);
  const declaredIn = (s) => s.declarations?.map((d) => d.getSourceFile().fileName) ?? [];

  // Every symbol some file other than its own names.
  const usedElsewhere = new Set();
  for (const sf of program.getSourceFiles()) {
    if (sf.isDeclarationFile || !sf.fileName.startsWith(root + '/') || sf.fileName.includes('/node_modules/')) continue;
    const visit = (node) => {
      if (ts.isIdentifier(node) || ts.isStringLiteral(node)) {
        const s = checker.getSymbolAtLocation(node);
        if (s) {
          const o = original(s);
          if (!declaredIn(o).includes(sf.fileName)) usedElsewhere.add(o);
          // A re-export (`export { x } from`) is a use of x, and of the alias itself.
          if (s !== o && !declaredIn(s).includes(sf.fileName)) usedElsewhere.add(s);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }

  const found = [];
  for (const sf of program.getSourceFiles()) {
    const file = rel(sf.fileName);
    if (!file.startsWith('src/') || sf.isDeclarationFile) continue;
    if (Object.keys(ENTRY_POINTS).some((e) => file === e || (e.endsWith('/') && file.startsWith(e)))) continue;
    const moduleSymbol = checker.getSymbolAtLocation(sf);
    if (!moduleSymbol) continue;
    for (const exp of checker.getExportsOfModule(moduleSymbol)) {
      const o = original(exp);
      // Re-exports are judged where they are declared.
      if (!declaredIn(o).includes(sf.fileName)) continue;
      if (usedElsewhere.has(o) || usedElsewhere.has(exp)) continue;
      const decl = o.declarations[0];
      const { line } = sf.getLineAndCharacterOfPosition(decl.getStart());
      const usedHere = countUses(sf, o, checker) > 0;
      found.push({ file, line: line + 1, name: exp.getName(), usedInItsFile: usedHere });
    }
  }
  return found.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
}

/** Identifiers of `sf` other than the declaration's own name that resolve to `symbol`. */
function countUses(sf, symbol, checker) {
  let n = 0;
  const names = new Set(symbol.declarations.map((d) => d.name));
  const visit = (node) => {
    if (ts.isIdentifier(node) && !names.has(node) && node.text === symbol.getName()) {
      const s = checker.getSymbolAtLocation(node);
      if (s && (s === symbol || (s.flags & ts.SymbolFlags.Alias && checker.getAliasedSymbol(s) === symbol))) n++;
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return n;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const all = deadExports();
  const dead = all.filter((f) => !f.usedInItsFile);
  const shown = process.argv.includes('--own-file') ? all : dead;
  if (process.argv.includes('--json')) process.stdout.write(JSON.stringify(shown, null, 2) + '\n');
  else {
    for (const f of shown) process.stdout.write(`${f.file}:${f.line}: ${f.name} ${f.usedInItsFile ? 'is used only in its own file' : 'is used nowhere'}\n`);
    process.stdout.write(`${dead.length} export(s) used nowhere; ${all.length - dead.length} used only in their own file${shown === dead ? ' (--own-file lists them)' : ''}\n`);
  }
  process.exitCode = dead.length ? 1 : 0;
}
