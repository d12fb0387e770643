/**
 * The `orbit` CLI. Each subcommand lives in cmd/commands/<name>.ts and
 * exports `register(program)`; list it in COMMANDS below to add it. Only the
 * command asked for is loaded (all of them for help or an unknown name): a
 * command's imports (the services' registry, for most) cost nothing to the
 * others, and `orbit new` runs even while a just-scaffolded service has no
 * generated code yet.
 *
 * Exit codes: 0 success, 1 failure at run time, 2 bad usage or configuration,
 * 3 a migration refused (`orbit migrate`, boot migrations of `orbit bundle`).
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";

interface Subcommand {
  register(program: Command): void;
}

const COMMANDS: Readonly<Record<string, () => Promise<Subcommand>>> = {
  bundle: () => import("./commands/bundle.js"),
  events: () => import("./commands/events.js"),
  migrate: () => import("./commands/migrate.js"),
  moderator: () => import("./commands/moderator.js"),
  new: () => import("./commands/new.js"),
  services: () => import("./commands/services.js"),
};

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

const asked = process.argv[2];
const load = asked !== undefined && Object.hasOwn(COMMANDS, asked) ? [COMMANDS[asked]!] : Object.values(COMMANDS);
for (const c of await Promise.all(load.map((l) => l()))) c.register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and version exit 0; usage errors (already printed) exit 2.
    process.exit(err.exitCode === 0 ? 0 : 2);
  }
  throw err;
}
