/**
 * `orbit services`: prints every service with its dependencies, tables,
 * topics and Connect services, then the groups. What a service consumes,
 * and its routes, sockets and jobs, come from building it (Bundle.describe,
 * on a throwaway in-memory store); the rest is its declaration.
 */
import type { Command } from "commander";
import type { DescService } from "@bufbuild/protobuf";
import { defaultText } from "../../platform/config/fields.js";
import { serviceSettingFields } from "../../platform/config/service-fields.js";
import { Bundle, type ServiceSummary } from "../../platform/kernel/bundle.js";
import type { ModuleDef } from "../../platform/kernel/service.js";
import { registry } from "../../services/registry.js";

export function register(program: Command): void {
  program
    .command("services")
    .summary("list services and groups")
    .description(
      "List every service (dependencies, tables, event topics, Connect services, routes, sockets, settings) " +
        "and every group.",
    )
    .option("--json", "print JSON instead of a table")
    .action(async (opts: { json?: boolean }) => {
      const d = describe(registry.modules, await Bundle.describe(registry));
      process.stdout.write(opts.json ? `${JSON.stringify(d, null, 2)}\n` : table(d));
    });
}

function describe(modules: readonly ModuleDef[], built: readonly ServiceSummary[]) {
  const byName = new Map(built.map((b) => [b.name, b]));
  return {
    services: modules.flatMap((m) => {
      if (m.kind !== "service") return [];
      const b = byName.get(m.name);
      return [
        {
          name: m.name,
          description: m.description,
          deps: m.deps,
          tables: m.tables.map((t) => t.name),
          publishes: m.publishes.map((e) => e.typeName),
          consumes: b?.consumes ?? [],
          consumerGroups: b?.consumerGroups ?? [],
          rpc: (m.api as readonly DescService[]).map((s) => s.typeName),
          routes: b?.routes ?? [],
          sockets: b?.sockets ?? [],
          jobs: b?.jobs ?? [],
          settings: serviceSettingFields(m.name, m.settings).map((f) => ({
            key: f.key,
            flag: f.flag,
            env: f.env,
            default: defaultText(f),
          })),
        },
      ];
    }),
    groups: modules.flatMap((m) =>
      m.kind === "group" ? [{ name: m.name, description: m.description, members: m.deps }] : [],
    ),
  };
}

function table(d: ReturnType<typeof describe>): string {
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
