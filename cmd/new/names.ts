/** The names of a new service in each place it appears, from its service name ("post-search"). */
import { MODULE_NAME } from "../../platform/kernel/service.js";

export interface Names {
  /** The service name: `--services`, services/<name>/ ("post-search"). */
  readonly name: string;
  /** Proto package segment and folder ("post_search"): proto identifiers take no "-". */
  readonly proto: string;
  /** TypeScript value names ("postSearch"). */
  readonly camel: string;
  /** Type names ("PostSearch"): PostSearchService, PostSearchNoteRow. */
  readonly pascal: string;
  /** Prefix of table names and topics ("post_search"). */
  readonly snake: string;
}

export function namesOf(name: string): Names {
  if (!MODULE_NAME.test(name) || name.endsWith("-") || name.includes("--")) {
    throw new Error(`${JSON.stringify(name)} is not a service name: lowercase letters and digits, words joined by "-"`);
  }
  const words = name.split("-");
  const pascal = words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join("");
  return {
    name,
    proto: words.join("_"),
    camel: pascal[0]!.toLowerCase() + pascal.slice(1),
    pascal,
    snake: words.join("_"),
  };
}
