/**
 * `orbit services`: prints every service with its dependencies, tables,
 * topics and Connect services, then the groups.
 */
import type { Command } from "commander";
import type { ModuleDef } from "../../platform/kernel/service.js";
import { registry } from "../../services/registry.js";

export function register(program: Command): void {
  program
    .command("services")
    .summary("list services and groups")
    .description("List every service (dependencies, tables, event topics, Connect services) and every group.")
    .option("--json", "print JSON instead of a table")
    .action((opts: { json?: boolean }) => {
      process.stdout.write(
        opts.json ? `${JSON.stringify(describe(registry.modules), null, 2)}\n` : table(registry.modules),
      );
    });
}

function describe(modules: readonly ModuleDef[]) {
  return {
    services: modules.flatMap((m) =>
      m.kind === "service"
        ? [
            {
              name: m.name,
              description: m.description,
              deps: m.deps,
              tables: m.tables.map((t) => t.name),
              publishes: m.publishes,
              consumes: m.consumes,
              rpc: m.rpc.map((b) => b.service.typeName),
            },
          ]
        : [],
    ),
    groups: modules.flatMap((m) =>
      m.kind === "group" ? [{ name: m.name, description: m.description, members: m.deps }] : [],
    ),
  };
}

function table(modules: readonly ModuleDef[]): string {
  const d = describe(modules);
  const list = (xs: readonly string[]) => (xs.length ? xs.join(", ") : "-");
  const rows = [
    ["SERVICE", "DEPENDS ON", "TABLES", "PUBLISHES", "CONSUMES", "RPC"],
    ...d.services.map((s) => [s.name, list(s.deps), list(s.tables), list(s.publishes), list(s.consumes), list(s.rpc)]),
  ];
  const groups = [
    ["GROUP", "MEMBERS", "DESCRIPTION"],
    ...d.groups.map((g) => [g.name, list(g.members), g.description]),
  ];
  return `${format(rows)}\n${format(groups)}`;
}

function format(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ")).join("\n") + "\n";
}
