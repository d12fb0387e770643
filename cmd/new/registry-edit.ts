/**
 * Adds a service to services/registry.ts by editing its syntax tree
 * (ts-morph), not its text: an import of `./<name>/service.js` among the
 * service imports, the service in the MODULES table at its place by name,
 * and its name in the `all` group. Everything else in the file is left as
 * it is.
 */
import {
  IndentationText,
  Node,
  Project,
  QuoteKind,
  SyntaxKind,
  type ArrayLiteralExpression,
  type SourceFile,
} from "ts-morph";
import type { Names } from "./names.js";

export class RegistryEditError extends Error {
  override readonly name = "RegistryEditError";
}

/** The name a MODULES entry stands for: a service's variable, or a group's first argument. */
function entryName(e: Node, serviceNames: ReadonlyMap<string, string>): string | undefined {
  if (Node.isIdentifier(e)) return serviceNames.get(e.getText()) ?? e.getText();
  if (Node.isCallExpression(e) && e.getExpression().getText() === "defineGroup") {
    const first = e.getArguments()[0];
    if (first && Node.isStringLiteral(first)) return first.getLiteralValue();
  }
  return undefined;
}

function modulesTable(file: SourceFile): ArrayLiteralExpression {
  const decl = file.getVariableDeclaration("MODULES");
  const init = decl?.getInitializer();
  if (!init || !Node.isArrayLiteralExpression(init)) {
    throw new RegistryEditError(
      `${file.getBaseName()}: no \`export const MODULES = [ … ]\` table to add the service to`,
    );
  }
  return init;
}

/** Inserts `text` into an array literal at the place that keeps `names` sorted. */
function insertSorted(
  array: ArrayLiteralExpression,
  names: readonly (string | undefined)[],
  name: string,
  text: string,
) {
  let at = names.findIndex((n) => n !== undefined && n > name);
  if (at === -1) at = names.length;
  array.insertElement(at, text);
}

/** The registry source with `n` added. Throws RegistryEditError if it is there already or the file has another shape. */
export function addToRegistry(source: string, n: Names, fileName = "registry.ts"): string {
  const project = new Project({
    useInMemoryFileSystem: true,
    manipulationSettings: {
      quoteKind: QuoteKind.Double,
      useTrailingCommas: true,
      indentationText: IndentationText.TwoSpaces,
    },
  });
  const file = project.createSourceFile(fileName, source);

  // Which variable is which service: `import { post } from "./post/service.js"`.
  const serviceNames = new Map<string, string>();
  const serviceImports = file
    .getImportDeclarations()
    .filter((d) => /^\.\/[^/]+\/service\.js$/.test(d.getModuleSpecifierValue()));
  for (const d of serviceImports) {
    const dir = d.getModuleSpecifierValue().split("/")[1]!;
    for (const named of d.getNamedImports()) serviceNames.set(named.getAliasNode()?.getText() ?? named.getName(), dir);
  }
  const specifier = `./${n.name}/service.js`;
  if (serviceImports.some((d) => d.getModuleSpecifierValue() === specifier)) {
    throw new RegistryEditError(`${fileName} already imports ${specifier}`);
  }

  const table = modulesTable(file);
  const names = table.getElements().map((e) => entryName(e, serviceNames));
  if (names.includes(n.name)) throw new RegistryEditError(`${fileName} already has a module named ${n.name}`);

  // The import, among the service imports in order.
  const after = serviceImports.filter((d) => d.getModuleSpecifierValue() < specifier).at(-1);
  const index = after
    ? after.getChildIndex() + 1
    : serviceImports.length
      ? serviceImports[0]!.getChildIndex()
      : file.getImportDeclarations().length;
  file.insertImportDeclaration(index, { namedImports: [n.camel], moduleSpecifier: specifier });

  // The table entry, at its place by name.
  insertSorted(table, names, n.name, n.camel);

  // The `all` group's members.
  const all = table
    .getElements()
    .find((e) => Node.isCallExpression(e) && entryName(e, serviceNames) === "all" && e.getArguments().length >= 3);
  const members = all && Node.isCallExpression(all) ? all.getArguments()[2] : undefined;
  if (!members || !Node.isArrayLiteralExpression(members)) {
    throw new RegistryEditError(`${fileName}: no defineGroup("all", …, [ … ]) to add ${n.name} to`);
  }
  const memberNames = members
    .getElements()
    .map((e) => (e.getKind() === SyntaxKind.StringLiteral ? (e as Node).getText().slice(1, -1) : undefined));
  insertSorted(members, memberNames, n.name, JSON.stringify(n.name));

  return file.getFullText();
}
