/**
 * The table of every module (services and groups), and the resolution of
 * `--services` against it: groups expand to their members, a service pulls
 * in the services it depends on unless a `--peer` says where they run, and
 * the result is ordered so that dependencies start first.
 */
import type { DescService } from "@bufbuild/protobuf";
import { CONFIG_FIELDS, type ConfigField } from "../config/fields.js";
import { serviceSettingFields } from "../config/service-fields.js";
import type { GroupDef, ModuleDef, ServiceDef } from "./service.js";

export class RegistryError extends Error {
  override readonly name = "RegistryError";
}

/** A name given to `--services` or `--peer` that the registry does not know. */
export class UnknownServiceError extends Error {
  override readonly name = "UnknownServiceError";
  constructor(
    readonly unknown: readonly string[],
    readonly services: readonly string[],
    readonly groups: readonly string[],
    what = "service",
  ) {
    super(
      `unknown ${what}${unknown.length > 1 ? "s" : ""} ${unknown.map((n) => JSON.stringify(n)).join(", ")}; ` +
        `known services: ${services.join(", ") || "(none)"}; groups: ${groups.join(", ") || "(none)"}`,
    );
  }
}

export interface Resolution {
  /** Services this process runs, dependencies first. */
  readonly local: readonly ServiceDef[];
  /** Services this process reaches over the network: name → base URL (every peer given). */
  readonly remote: ReadonlyMap<string, string>;
  /** Peers given that no local service depends on (still in `remote`). */
  readonly unusedPeers: readonly string[];
}

export class Registry {
  private readonly byName = new Map<string, ModuleDef>();
  private readonly owners = new Map<string, ServiceDef>();
  private readonly verifier: ServiceDef | undefined;

  constructor(readonly modules: readonly ModuleDef[]) {
    for (const m of modules) {
      if (this.byName.has(m.name)) throw new RegistryError(`module ${m.name} is declared twice`);
      this.byName.set(m.name, m);
    }
    for (const m of modules) {
      for (const dep of m.deps) {
        const d = this.byName.get(dep);
        if (!d) throw new RegistryError(`${m.kind} ${m.name} depends on unknown module ${dep}`);
        if (m.kind === "service" && d.kind === "group") {
          throw new RegistryError(`service ${m.name} depends on group ${dep}; services depend on services`);
        }
      }
      if (m.kind === "service") {
        for (const service of m.api as readonly DescService[]) {
          const other = this.owners.get(service.typeName);
          if (other) {
            throw new RegistryError(`${service.typeName} is implemented by both ${other.name} and ${m.name}`);
          }
          this.owners.set(service.typeName, m);
        }
      }
    }
    const verifiers = this.services().filter((s) => s.verifiesTokens);
    if (verifiers.length > 1) {
      throw new RegistryError(
        `bearer tokens are verified by one service; ${verifiers.map((s) => s.name).join(" and ")} both declare verifiesTokens`,
      );
    }
    this.verifier = verifiers[0];
    this.checkCycles();
  }

  get(name: string): ModuleDef | undefined {
    return this.byName.get(name);
  }

  services(): ServiceDef[] {
    return this.modules.filter((m): m is ServiceDef => m.kind === "service");
  }

  groups(): GroupDef[] {
    return this.modules.filter((m): m is GroupDef => m.kind === "group");
  }

  /**
   * Every setting of a bundle: the platform's, then each service's own (in
   * registry order), with the flag, variable and file key derived from them.
   */
  configFields(): ConfigField[] {
    const fields = [...CONFIG_FIELDS, ...this.services().flatMap((s) => serviceSettingFields(s.name, s.settings))];
    const seen = new Map<string, string>();
    for (const f of fields) {
      for (const n of [f, ...(f.aliases ?? [])]) {
        for (const name of [n.key, n.flag.split(" ")[0]!, n.env]) {
          const other = seen.get(name);
          if (other !== undefined) throw new RegistryError(`setting ${name} is declared twice (${other} and ${f.key})`);
          seen.set(name, f.key);
        }
      }
    }
    return fields;
  }

  /** The service that verifies bearer tokens (declares `verifiesTokens`), if any. */
  tokenProvider(): ServiceDef | undefined {
    return this.verifier;
  }

  /** The service that implements a Connect service. */
  ownerOf(service: DescService | string): ServiceDef | undefined {
    return this.owners.get(typeof service === "string" ? service : service.typeName);
  }

  /** Every service a group stands for (a service stands for itself). */
  expand(name: string): ServiceDef[] {
    const out = new Map<string, ServiceDef>();
    const visit = (n: string) => {
      const m = this.byName.get(n);
      if (!m) throw this.unknown([n]);
      if (m.kind === "service") out.set(m.name, m);
      else m.deps.forEach(visit);
    };
    visit(name);
    return [...out.values()];
  }

  resolve(requested: readonly string[], peers: Readonly<Record<string, string>> = {}): Resolution {
    const missing = [...new Set(requested.filter((n) => !this.byName.has(n)))];
    if (missing.length) throw this.unknown(missing);
    const badPeers = Object.keys(peers).filter((n) => this.byName.get(n)?.kind !== "service");
    if (badPeers.length) throw this.unknown(badPeers, "peer service");

    const local = new Map<string, ServiceDef>();
    for (const name of requested) for (const s of this.expand(name)) local.set(s.name, s);
    const both = [...local.keys()].filter((n) => n in peers);
    if (both.length) {
      throw new RegistryError(
        `${both.join(", ")} ${both.length > 1 ? "are" : "is"} both asked to run here (--services) and given as --peer`,
      );
    }
    const remote = new Map<string, string>();
    const stack = [...local.values()];
    while (stack.length) {
      const s = stack.pop()!;
      for (const dep of s.deps) {
        const url = peers[dep];
        if (url !== undefined) remote.set(dep, url);
        else if (!local.has(dep)) {
          const d = this.byName.get(dep) as ServiceDef;
          local.set(dep, d);
          stack.push(d);
        }
      }
    }
    const unusedPeers = Object.keys(peers).filter((n) => !remote.has(n));
    // Peers no local service depends on stay reachable (the kernel may still
    // call them: the user service verifies tokens for every bundle).
    for (const n of unusedPeers) remote.set(n, peers[n]!);
    return { local: this.order([...local.values()]), remote, unusedPeers };
  }

  /** Dependencies first; ties by name, so the order is stable. */
  private order(services: ServiceDef[]): ServiceDef[] {
    const names = new Set(services.map((s) => s.name));
    const pending = new Map(services.map((s) => [s.name, s.deps.filter((d) => names.has(d)).length]));
    const out: ServiceDef[] = [];
    while (pending.size) {
      const next = [...pending]
        .filter(([, n]) => n === 0)
        .map(([name]) => name)
        .sort()[0]!;
      pending.delete(next);
      out.push(this.byName.get(next) as ServiceDef);
      for (const s of services)
        if (pending.has(s.name) && s.deps.includes(next)) pending.set(s.name, pending.get(s.name)! - 1);
    }
    return out;
  }

  private checkCycles(): void {
    const state = new Map<string, "visiting" | "done">();
    const visit = (name: string, path: string[]) => {
      if (state.get(name) === "done") return;
      if (state.get(name) === "visiting") {
        throw new RegistryError(`dependency cycle: ${[...path.slice(path.indexOf(name)), name].join(" → ")}`);
      }
      state.set(name, "visiting");
      for (const d of this.byName.get(name)!.deps) visit(d, [...path, name]);
      state.set(name, "done");
    };
    for (const m of this.modules) visit(m.name, []);
  }

  private unknown(names: string[], what?: string): UnknownServiceError {
    return new UnknownServiceError(
      names,
      this.services()
        .map((s) => s.name)
        .sort(),
      this.groups()
        .map((g) => g.name)
        .sort(),
      what,
    );
  }
}
