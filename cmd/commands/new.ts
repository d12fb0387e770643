/**
 * `orbit new service <name>`: scaffolds a service (cmd/new/scaffold.ts).
 * Exit codes: 0 done, 2 bad name or the service exists, 1 anything else.
 */
import { resolve } from "node:path";
import type { Command } from "commander";

export function register(program: Command): void {
  const cmd = program.command("new").summary("scaffold new parts of Orbit").description("Scaffold new parts of Orbit.");
  cmd
    .command("service")
    .argument("<name>", 'service name: lowercase letters and digits, words joined by "-" (e.g. chat, post-search)')
    .summary("scaffold a service: protos, services/<name>/, a registry entry")
    .description(
      "Write a new service's proto files (API, tables, events) and services/<name>/ (definition, settings, " +
        "handlers and their test), and add it to services/registry.ts and the `all` group. Nothing is overwritten.",
    )
    .option("--dir <root>", "the repository root", ".")
    .addHelpText(
      "after",
      "\nThen: npm run gen, npx vitest run services/<name>, orbit bundle --services=<name>.\nSee docs/architecture.md.",
    )
    .action(async (name: string, opts: { dir: string }) => {
      const { scaffoldService, ScaffoldError } = await import("../new/scaffold.js");
      try {
        const r = scaffoldService(resolve(opts.dir), name);
        for (const p of r.created) process.stdout.write(`created  ${p}\n`);
        for (const p of r.changed) process.stdout.write(`changed  ${p}\n`);
        process.stdout.write(
          `\nNext:\n  npm run gen                      # generate its code (gen/)\n` +
            `  npx vitest run services/${name}   # its test: it boots in a bundle and answers\n` +
            `  npx orbit bundle --services=${name}\n`,
        );
      } catch (err) {
        if (err instanceof ScaffoldError) {
          process.stderr.write(`orbit new service: ${err.message}\n`);
          process.exit(2);
        }
        throw err;
      }
    });
}
