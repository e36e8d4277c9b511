/**
 * The library entry (src/index.ts) exports every type its exported functions take and return: a
 * caller must be able to name the options of each ceremony. Checked with the TypeScript compiler:
 * for each exported function, the project's named types reachable from its parameters and results
 * (through properties, three levels deep) must be exported by the entry too. The entry must not
 * re-export the emulator (its own subpath, `kms-byok/emulator`).
 */
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ENTRY = fileURLToPath(new URL('../../src/index.ts', import.meta.url));
const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

function analyse(): { missing: string[]; exported: Set<string>; fromEmulator: string[] } {
  const program = ts.createProgram([ENTRY], { strict: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, noEmit: true });
  const checker = program.getTypeChecker();
  const entry = checker.getSymbolAtLocation(program.getSourceFile(ENTRY)!)!;
  const exports = checker.getExportsOfModule(entry);
  const resolved = (s: ts.Symbol) => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);
  const exportedSymbols = new Set(exports.map(resolved));
  const exported = new Set(exports.map((s) => s.name));
  const fromEmulator = exports.filter((s) => resolved(s).declarations?.some((d) => d.getSourceFile().fileName.includes('/src/emulator/'))).map((s) => s.name);
  const missing = new Set<string>();
  const seen = new Set<ts.Type>();
  const visit = (type: ts.Type, depth: number, via: string): void => {
    if (seen.has(type) || depth > 3) return;
    seen.add(type);
    if (type.isUnionOrIntersection()) return type.types.forEach((t) => visit(t, depth, via));
    const symbol = type.aliasSymbol ?? type.getSymbol();
    const decl = symbol?.declarations?.[0];
    const own = decl !== undefined && decl.getSourceFile().fileName.startsWith(SRC);
    if (own && symbol && (ts.isInterfaceDeclaration(decl) || ts.isTypeAliasDeclaration(decl) || ts.isClassDeclaration(decl) || ts.isEnumDeclaration(decl)) && !exportedSymbols.has(symbol)) {
      missing.add(`${symbol.name} (reached from ${via})`);
    }
    for (const arg of checker.getTypeArguments(type as ts.TypeReference) ?? []) visit(arg, depth + 1, via);
    if (!own) return;
    for (const sig of type.getCallSignatures()) {
      for (const p of sig.getParameters()) visit(checker.getTypeOfSymbol(p), depth + 1, via);
      visit(sig.getReturnType(), depth + 1, via);
    }
    for (const prop of type.getProperties()) visit(checker.getTypeOfSymbol(prop), depth + 1, via);
  };
  for (const s of exports) {
    const target = resolved(s);
    if (!(target.flags & ts.SymbolFlags.Function)) continue;
    for (const sig of checker.getTypeOfSymbol(target).getCallSignatures()) {
      for (const p of sig.getParameters()) visit(checker.getTypeOfSymbol(p), 0, s.name);
      const ret = sig.getReturnType();
      const awaited = checker.getAwaitedType(ret) ?? ret;
      visit(awaited, 0, s.name);
    }
  }
  return { missing: [...missing].sort(), exported, fromEmulator };
}

describe('the library entry', () => {
  const result = analyse();
  it('exports every project type its exported functions take and return', () => {
    expect(result.missing).toEqual([]);
    expect(result.exported.has('runOnboard')).toBe(true);
  });
  it('does not load the emulator (kms-byok/emulator is its own entry)', () => {
    expect(result.fromEmulator).toEqual([]);
  });
});
