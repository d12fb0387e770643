/**
 * The `orbit` CLI. Each subcommand lives in cmd/commands/<name>.ts and
 * exports `register(program)`; list it in COMMANDS below to add it.
 *
 * Exit codes: 0 success, 1 failure at run time, 2 bad usage or configuration,
 * 3 a migration refused (`orbit migrate`, boot migrations of `orbit bundle`).
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import * as bundle from "./commands/bundle.js";
import * as events from "./commands/events.js";
import * as migrate from "./commands/migrate.js";
import * as services from "./commands/services.js";

interface Subcommand {
  register(program: Command): void;
}

const COMMANDS: readonly Subcommand[] = [
  bundle,
  events,
  migrate,
  services,
  // events: add `import * as x from "./commands/x.js"` above and x here.
];

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };

const program = new Command("orbit")
  .description(
    "Orbit: a social-network backend generated from protobuf.\nRun `orbit <command> --help` for a command's options.",
  )
  .version(pkg.version, "-V, --version", "print the version")
  .helpOption("-h, --help", "show help")
  .showHelpAfterError("(add --help for usage)")
  .showSuggestionAfterError()
  .configureHelp({ sortSubcommands: true })
  .exitOverride();

for (const c of COMMANDS) c.register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and version exit 0; usage errors (already printed) exit 2.
    process.exit(err.exitCode === 0 ? 0 : 2);
  }
  throw err;
}
