// The SDK's type declarations (dist/types/*.d.ts) for the package's entries, self-contained: the SDK's own
// files get tsc's declarations, and `contracts.d.ts` gets the API's request and response types expanded from
// the server's contracts entry (zod schemas) into plain object types, so a consumer needs neither zod nor
// the server's sources. `npm run build:sdk` runs it after the bundles (`node sdk/build.types.mjs [outdir]`);
// test/sdk-types.test.ts typechecks a consumer against the result.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('.', import.meta.url));
const src = path.join(root, 'src');

export function buildTypes(outdir = path.join(root, 'dist', 'types')) {
  const host = { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); } };
  const cfg = ts.getParsedCommandLineOfConfigFile(path.join(root, 'tsconfig.build.json'), {}, host);
  if (!cfg) throw new Error('sdk/tsconfig.build.json could not be read');
  const program = ts.createProgram({ rootNames: cfg.fileNames, options: cfg.options });
  const errors = ts.getPreEmitDiagnostics(program).filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length) throw new Error(ts.formatDiagnostics(errors, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' }));
  fs.rmSync(outdir, { recursive: true, force: true });
  fs.mkdirSync(outdir, { recursive: true });
  const contractsFile = path.join(src, 'contracts.ts');
  const own = program.getSourceFiles().filter((f) => path.resolve(f.fileName).startsWith(src + path.sep) && path.resolve(f.fileName) !== contractsFile);
  for (const file of own) {
    program.emit(
      file,
      (_name, text) => {
        const out = path.join(outdir, path.basename(file.fileName).replace(/\.ts$/, '.d.ts'));
        // The SDK's relative imports name .ts files; the declarations sit beside each other as .d.ts.
        fs.writeFileSync(out, text.replace(/(from\s+'\.\/[\w.-]+)\.ts'/g, "$1.js'").replace(/import\("(\.\/[\w.-]+)\.ts"\)/g, 'import("$1.js")'));
      },
      undefined,
      true,
    );
  }
  fs.writeFileSync(path.join(outdir, 'contracts.d.ts'), expandContracts(program, contractsFile));
  return outdir;
}

/** `export type X = <X's structure>` for every type that sdk/src/contracts.ts re-exports. */
function expandContracts(program, file) {
  const checker = program.getTypeChecker();
  const sf = program.getSourceFile(file);
  const moduleSymbol = sf && checker.getSymbolAtLocation(sf);
  if (!moduleSymbol) throw new Error('sdk/src/contracts.ts has no exports');
  const flags = ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.InTypeAlias | ts.TypeFormatFlags.UseSingleQuotesForStringLiteralType;
  const lines = [
    '/** Loupe API request and response types, expanded from the server\'s contracts entry by sdk/build.types.mjs. Do not edit. */',
  ];
  for (const sym of checker.getExportsOfModule(moduleSymbol).sort((a, b) => a.name.localeCompare(b.name))) {
    const target = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
    const type = checker.getDeclaredTypeOfSymbol(target);
    lines.push(`export type ${sym.name} = ${checker.typeToString(type, undefined, flags)};`);
  }
  return `${lines.join('\n')}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) buildTypes(process.argv[2] ? path.resolve(process.argv[2]) : undefined);
