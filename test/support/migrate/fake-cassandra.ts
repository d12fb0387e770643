/**
 * A small in-memory Cassandra for the faults a real node cannot produce on
 * demand (platform/migrate/cassandra/apply.test.ts, whose test names say
 * "in-memory fake"): schema agreement that lags or never comes, DDL that
 * takes longer than a lease, lease renewals that time out, a lease that
 * changes hands mid-step. Everything else runs on the live node
 * (live.test.ts). It answers
 * exactly the statements the migrator sends through a CqlSession, and
 * refuses anything else, so a new statement in the migrator shows up as a
 * test failure instead of a silent no-op:
 *
 * - system_schema.tables / system_schema.columns, from a schema model kept
 *   up to date by the DDL it receives (CREATE TABLE, ALTER TABLE ADD / DROP /
 *   RENAME / WITH default_time_to_live, DROP TABLE), with Cassandra's errors
 *   for what Cassandra refuses (unknown table, existing column, …);
 * - the lease row (orbit_migration_lock) with lightweight-transaction
 *   semantics: `INSERT … IF NOT EXISTS USING TTL`, `UPDATE … IF owner = ?`,
 *   `DELETE … IF owner = ?`, with `[applied]` and the current row when not
 *   applied, and expiry by TTL against Date.now() (so vi.useFakeTimers
 *   drives it);
 * - the history rows (orbit_migrations), in timeuuid order;
 * - schema agreement, which can lag behind each change by a number of checks
 *   or never come.
 *
 * One FakeCassandra is the cluster; each migrating "process" gets its own
 * session (`cluster.session("boot-a")`).
 *
 * Everything sent is recorded in `events`, in order, with the sending
 * process, its parameters and the fake time.
 */
import type { CqlResult, CqlSession } from "../../../platform/migrate/cassandra/session.js";

export interface ExecuteEvent {
  readonly kind: "execute";
  readonly process: string;
  readonly cql: string;
  readonly params: readonly unknown[] | undefined;
  readonly atMs: number;
  /** For a lightweight transaction (or DML): whether it applied. */
  readonly applied: boolean;
  /** Set when the cluster refused the statement. */
  readonly error?: string;
}

export interface AgreementEvent {
  readonly kind: "agreement";
  readonly process: string;
  readonly agreed: boolean;
  readonly atMs: number;
}

export type FakeEvent = ExecuteEvent | AgreementEvent;

interface FakeColumn {
  name: string;
  type: string;
  kind: "partition_key" | "clustering" | "regular";
  position: number;
  order: "asc" | "desc" | "none";
}

interface FakeTable {
  name: string;
  columns: FakeColumn[];
  ttl: number;
  id?: string;
}

interface LeaseRow {
  owner: string;
  acquired_at_ms: bigint;
  expiresAtMs: number;
}

type Row = Record<string, unknown>;

const norm = (cql: string) => cql.replace(/\s+/g, " ").trim();
const unquote = (ident: string) => (ident.startsWith('"') ? ident.slice(1, -1) : ident.toLowerCase());

/** Splits on commas outside parentheses and angle brackets. */
function splitTop(text: string, sep = ","): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of text) {
    if (ch === "(" || ch === "<") depth++;
    if (ch === ")" || ch === ">") depth--;
    if (ch === sep && depth === 0) {
      out.push(cur.trim());
      cur = "";
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/** The text inside the parenthesis that opens at `open`, and what follows it. */
function parenthesised(text: string, open: number): { inside: string; rest: string } {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === "(") depth++;
    if (text[i] === ")" && --depth === 0) return { inside: text.slice(open + 1, i), rest: text.slice(i + 1).trim() };
  }
  throw new Error(`fake Cassandra: unbalanced parentheses in ${text}`);
}

class InvalidRequest extends Error {
  override readonly name = "ResponseError";
}

export class FakeCassandra {
  readonly events: FakeEvent[] = [];
  /** DDL statements that reached the cluster while its nodes disagreed on the schema. */
  readonly ddlWhileDisagreeing: string[] = [];
  /** After each schema change, this many agreement checks answer false (nodes catching up). */
  agreementLagChecks = 0;
  /** A schema change after which the nodes never agree again. */
  neverAgreeAfter: ((cql: string) => boolean) | undefined;
  /** How long each schema change takes (fake time: needs vi.useFakeTimers). */
  ddlLatencyMs = 0;
  /** How many of the next lease renewals fail with a write timeout instead of answering (Infinity: all). */
  failingRenewals = 0;

  private readonly tables = new Map<string, FakeTable>();
  private leaseRow: LeaseRow | undefined;
  private readonly historyRows = new Map<string, Row>();
  private disagreeing = 0;
  private neverAgree = false;

  constructor(
    readonly keyspace = "orbit",
    readonly url = "cassandra://fake/orbit",
  ) {}

  /** A connection for one migrating process. */
  session(process: string): FakeSession {
    return new FakeSession(this, process);
  }

  // ---- what tests look at and set up -------------------------------------------------------

  /** The live lease, if any (expired rows are gone). */
  get lease(): { owner: string; expiresAtMs: number } | undefined {
    return this.liveLease();
  }

  /** The lease changes hands behind its holder's back (e.g. it expired during a long pause). */
  stealLease(owner: string, ttlSeconds = 60): void {
    this.leaseRow = { owner, acquired_at_ms: BigInt(Date.now()), expiresAtMs: Date.now() + ttlSeconds * 1000 };
  }

  /** The history rows, in timeuuid order, with `id` as a string. */
  history(): Row[] {
    return this.sortedHistory().map((r) => ({ ...r, id: String(r.id) }));
  }

  /** Column name → type of a table, or undefined when it does not exist. */
  columnsOf(table: string): Record<string, string> | undefined {
    const t = this.tables.get(table);
    return t && Object.fromEntries(t.columns.map((c) => [c.name, c.type]));
  }

  /** The nodes catch up: agreement answers true again (and neverAgreeAfter is cleared). */
  agreeAgain(): void {
    this.neverAgree = false;
    this.neverAgreeAfter = undefined;
    this.disagreeing = 0;
  }

  /** Statements sent (by `process`, if given), in order. */
  statements(process?: string): ExecuteEvent[] {
    return this.events.filter(
      (e): e is ExecuteEvent => e.kind === "execute" && (process === undefined || e.process === process),
    );
  }

  // ---- the wire ------------------------------------------------------------------------------

  async execute(process: string, cql: string, params: readonly unknown[] | undefined): Promise<CqlResult> {
    const text = norm(cql);
    const isDdl = /^(CREATE|ALTER|DROP) /i.test(text);
    if (isDdl && params) throw new Error(`fake Cassandra: DDL must be sent unprepared: ${text}`);
    if (!isDdl && !params) throw new Error(`fake Cassandra: expected a prepared statement with parameters: ${text}`);
    if (isDdl && this.ddlLatencyMs > 0) await new Promise((r) => setTimeout(r, this.ddlLatencyMs));
    const atMs = Date.now();
    try {
      const result = isDdl ? this.ddl(text) : this.dml(text, params!);
      this.events.push({ kind: "execute", process, cql: text, params, atMs, applied: result.applied });
      return result;
    } catch (err) {
      this.events.push({
        kind: "execute",
        process,
        cql: text,
        params,
        atMs,
        applied: false,
        error: (err as Error).message,
      });
      throw err;
    }
  }

  async schemaAgreement(process: string): Promise<boolean> {
    let agreed = true;
    if (this.neverAgree) agreed = false;
    else if (this.disagreeing > 0) {
      this.disagreeing--;
      agreed = false;
    }
    this.events.push({ kind: "agreement", process, agreed, atMs: Date.now() });
    return agreed;
  }

  // ---- schema --------------------------------------------------------------------------------

  private tableRef(ref: string): string {
    const m = /^("?\w+"?)\.("?\w+"?)$/.exec(ref);
    if (!m) throw new Error(`fake Cassandra: expected keyspace.table, got ${ref}`);
    if (unquote(m[1]!) !== this.keyspace) throw new InvalidRequest(`Keyspace ${unquote(m[1]!)} does not exist`);
    return unquote(m[2]!);
  }

  private table(ref: string): FakeTable {
    const name = this.tableRef(ref);
    const t = this.tables.get(name);
    if (!t) throw new InvalidRequest(`unconfigured table ${name}`);
    return t;
  }

  private ddl(text: string): CqlResult {
    if (this.disagreeing > 0 || this.neverAgree) this.ddlWhileDisagreeing.push(text);
    let m: RegExpExecArray | null;
    if ((m = /^CREATE TABLE (IF NOT EXISTS )?(\S+) \(/i.exec(text)))
      this.createTable(text, m[2]!, !!m[1], m[0].length - 1);
    else if ((m = /^DROP TABLE (IF EXISTS )?(\S+)$/i.exec(text))) {
      const name = this.tableRef(m[2]!);
      if (!this.tables.has(name) && !m[1]) throw new InvalidRequest(`unconfigured table ${name}`);
      this.tables.delete(name);
    } else if ((m = /^ALTER TABLE (\S+) (.*)$/i.exec(text))) this.alterTable(this.table(m[1]!), m[2]!);
    else throw new Error(`fake Cassandra: unexpected DDL: ${text}`);
    this.disagreeing = this.agreementLagChecks;
    if (this.neverAgreeAfter?.(text)) this.neverAgree = true;
    return { rows: [], applied: true };
  }

  private createTable(text: string, ref: string, ifNotExists: boolean, open: number): void {
    const name = this.tableRef(ref);
    if (this.tables.has(name)) {
      if (ifNotExists) return;
      throw new InvalidRequest(`Table ${this.keyspace}.${name} already exists`);
    }
    const { inside, rest } = parenthesised(text, open);
    const columns: FakeColumn[] = [];
    let partition: string[] = [];
    let clustering: string[] = [];
    for (const part of splitTop(inside)) {
      const pk = /^PRIMARY KEY \((.*)\)$/i.exec(part);
      if (pk) {
        const keys = splitTop(pk[1]!);
        partition = keys[0]!.startsWith("(") ? splitTop(keys[0]!.slice(1, -1)).map(unquote) : [unquote(keys[0]!)];
        clustering = keys.slice(1).map(unquote);
        continue;
      }
      const col = /^("[^"]+"|\w+) (.+?)( PRIMARY KEY)?$/i.exec(part);
      if (!col) throw new Error(`fake Cassandra: cannot read column definition "${part}"`);
      columns.push({
        name: unquote(col[1]!),
        type: col[2]!.toLowerCase().replace(/\bvarchar\b/g, "text"),
        kind: "regular",
        position: -1,
        order: "none",
      });
      if (col[3]) partition = [unquote(col[1]!)];
    }
    const order = new Map<string, "asc" | "desc">();
    let ttl = 0;
    let id: string | undefined;
    if (rest) {
      const w = /^WITH (.*)$/i.exec(rest);
      if (!w) throw new Error(`fake Cassandra: unexpected table options: ${rest}`);
      for (const opt of w[1]!.split(/ AND /i)) {
        let o: RegExpExecArray | null;
        if ((o = /^CLUSTERING ORDER BY \((.*)\)$/i.exec(opt))) {
          for (const c of splitTop(o[1]!)) {
            const [col, dir] = c.split(" ");
            order.set(unquote(col!), dir!.toLowerCase() === "desc" ? "desc" : "asc");
          }
        } else if ((o = /^default_time_to_live = (\d+)$/i.exec(opt))) ttl = Number(o[1]);
        else if ((o = /^ID = '?([0-9a-f-]{36})'?$/i.exec(opt))) id = o[1];
        else throw new Error(`fake Cassandra: unexpected table option: ${opt}`);
      }
    }
    for (const c of columns) {
      const p = partition.indexOf(c.name);
      const k = clustering.indexOf(c.name);
      if (p >= 0) Object.assign(c, { kind: "partition_key", position: p });
      else if (k >= 0) Object.assign(c, { kind: "clustering", position: k, order: order.get(c.name) ?? "asc" });
    }
    for (const key of [...partition, ...clustering]) {
      if (!columns.some((c) => c.name === key))
        throw new InvalidRequest(`Unknown definition ${key} referenced in PRIMARY KEY`);
    }
    this.tables.set(name, { name, columns, ttl, id });
  }

  private alterTable(t: FakeTable, change: string): void {
    let m: RegExpExecArray | null;
    const find = (ident: string) => t.columns.find((c) => c.name === unquote(ident));
    if ((m = /^ADD ("[^"]+"|\w+) (.+)$/i.exec(change))) {
      if (find(m[1]!))
        throw new InvalidRequest(`Invalid column name ${unquote(m[1]!)} because it conflicts with an existing column`);
      t.columns.push({ name: unquote(m[1]!), type: m[2]!.toLowerCase(), kind: "regular", position: -1, order: "none" });
    } else if ((m = /^DROP ("[^"]+"|\w+)$/i.exec(change))) {
      const c = find(m[1]!);
      if (!c) throw new InvalidRequest(`Column ${unquote(m[1]!)} was not found in table ${t.name}`);
      if (c.kind !== "regular") throw new InvalidRequest(`Cannot drop PRIMARY KEY part ${c.name}`);
      t.columns = t.columns.filter((x) => x !== c);
    } else if ((m = /^RENAME ("[^"]+"|\w+) TO ("[^"]+"|\w+)$/i.exec(change))) {
      const c = find(m[1]!);
      if (!c) throw new InvalidRequest(`Column ${unquote(m[1]!)} was not found in table ${t.name}`);
      if (c.kind === "regular") throw new InvalidRequest(`Cannot rename non PRIMARY KEY column ${c.name}`);
      if (find(m[2]!))
        throw new InvalidRequest(`Cannot rename column ${c.name} to ${unquote(m[2]!)}; another column has this name`);
      c.name = unquote(m[2]!);
    } else if ((m = /^WITH default_time_to_live = (\d+)$/i.exec(change))) t.ttl = Number(m[1]);
    else throw new Error(`fake Cassandra: unexpected ALTER TABLE ${t.name} ${change}`);
  }

  // ---- data ----------------------------------------------------------------------------------

  private liveLease(): LeaseRow | undefined {
    if (this.leaseRow && this.leaseRow.expiresAtMs <= Date.now()) this.leaseRow = undefined;
    return this.leaseRow;
  }

  private sortedHistory(): Row[] {
    const at = (r: Row) => {
      const p = (r.id as { getDatePrecision(): { date: Date; ticks: number } }).getDatePrecision();
      return p.date.getTime() * 10_000 + p.ticks;
    };
    return [...this.historyRows.values()].sort((a, b) => at(a) - at(b));
  }

  private dml(text: string, params: readonly unknown[]): CqlResult {
    let m: RegExpExecArray | null;
    if ((m = /^SELECT (.+) FROM system_schema\.(tables|columns) WHERE keyspace_name = \?$/i.exec(text))) {
      if (params[0] !== this.keyspace) return { rows: [], applied: true };
      const rows: Row[] =
        m[2] === "tables"
          ? [...this.tables.values()].map((t) => ({ table_name: t.name, default_time_to_live: t.ttl }))
          : [...this.tables.values()].flatMap((t) =>
              t.columns.map((c) => ({
                table_name: t.name,
                column_name: c.name,
                clustering_order: c.order,
                kind: c.kind,
                position: c.position,
                type: c.type,
              })),
            );
      return { rows: project(rows, m[1]!), applied: true };
    }
    if ((m = /^(?:INSERT INTO|UPDATE|DELETE FROM|SELECT .+ FROM) (\S+)/i.exec(text))) {
      const t = this.table(m[1]!);
      if (t.name === "orbit_migration_lock") return this.lockStatement(text, params);
      if (t.name === "orbit_migrations") return this.historyStatement(text, params);
    }
    throw new Error(`fake Cassandra: unexpected statement: ${text}`);
  }

  private lockStatement(text: string, p: readonly unknown[]): CqlResult {
    const now = Date.now();
    const current = this.liveLease();
    const notApplied = (): CqlResult => ({
      rows: [
        current
          ? { "[applied]": false, name: "migrate", owner: current.owner, acquired_at_ms: current.acquired_at_ms }
          : { "[applied]": false },
      ],
      applied: false,
    });
    if (
      /^INSERT INTO \S+ \(name, owner, acquired_at_ms\) VALUES \(\?, \?, \?\) IF NOT EXISTS USING TTL \?$/i.test(text)
    ) {
      if (current) return notApplied();
      this.leaseRow = { owner: String(p[1]), acquired_at_ms: p[2] as bigint, expiresAtMs: now + Number(p[3]) * 1000 };
      return { rows: [{ "[applied]": true }], applied: true };
    }
    if (/^UPDATE \S+ USING TTL \? SET owner = \? WHERE name = \? IF owner = \?$/i.test(text)) {
      if (this.failingRenewals > 0) {
        this.failingRenewals--;
        throw new Error("Operation timed out - received only 0 responses.");
      }
      if (!current || current.owner !== p[3]) return notApplied();
      current.owner = String(p[1]);
      current.expiresAtMs = now + Number(p[0]) * 1000;
      return { rows: [{ "[applied]": true }], applied: true };
    }
    if (/^DELETE FROM \S+ WHERE name = \? IF owner = \?$/i.test(text)) {
      if (!current || current.owner !== p[1]) return notApplied();
      this.leaseRow = undefined;
      return { rows: [{ "[applied]": true }], applied: true };
    }
    throw new Error(`fake Cassandra: unexpected statement on the lease table: ${text}`);
  }

  private historyStatement(text: string, p: readonly unknown[]): CqlResult {
    let m: RegExpExecArray | null;
    if ((m = /^INSERT INTO \S+ \((.+)\) VALUES \((.+)\)$/i.exec(text))) {
      const cols = m[1]!.split(", ");
      if (cols.length !== p.length) throw new Error(`fake Cassandra: ${cols.length} columns, ${p.length} values`);
      const row: Row = Object.fromEntries(cols.map((c, i) => [c, p[i]]));
      this.historyRows.set(String(row.id), row);
      return { rows: [], applied: true };
    }
    if ((m = /^UPDATE \S+ SET (.+) WHERE scope = \? AND id = \?$/i.exec(text))) {
      const cols = m[1]!.split(", ").map((s) => s.replace(/ = \?$/, ""));
      const id = p[cols.length + 1];
      // An UPDATE is an upsert in Cassandra.
      const row = this.historyRows.get(String(id)) ?? { scope: p[cols.length], id };
      cols.forEach((c, i) => (row[c] = p[i]));
      this.historyRows.set(String(id), row);
      return { rows: [], applied: true };
    }
    if ((m = /^SELECT (.+) FROM \S+ WHERE scope = \?$/i.exec(text))) {
      return {
        rows: project(
          this.sortedHistory().filter((r) => r.scope === p[0]),
          m[1]!,
        ),
        applied: true,
      };
    }
    throw new Error(`fake Cassandra: unexpected statement on the history table: ${text}`);
  }
}

function project(rows: readonly Row[], columns: string): Row[] {
  const names = columns.split(",").map((s) => s.trim());
  return rows.map((r) => Object.fromEntries(names.map((n) => [n, r[n] ?? null])));
}

/** One process's connection. */
export class FakeSession implements CqlSession {
  readonly url: string;

  constructor(
    private readonly cluster: FakeCassandra,
    readonly process: string,
  ) {
    this.url = cluster.url;
  }

  execute(cql: string, params?: readonly unknown[]): Promise<CqlResult> {
    return this.cluster.execute(this.process, cql, params);
  }

  schemaAgreement(): Promise<boolean> {
    return this.cluster.schemaAgreement(this.process);
  }
}
