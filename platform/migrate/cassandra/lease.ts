/**
 * The migration lock on Cassandra: a lease row written with a lightweight
 * transaction (INSERT … IF NOT EXISTS USING TTL). The holder renews it well
 * before it expires; if the holder dies, the row expires and the next
 * process takes over. A holder that fails to renew stops before its next
 * step.
 */
import { cqlIdent } from "../../storage/cassandra/cql.js";
import { MigrationLockTimeoutError } from "../errors.js";
import { LOCK_TABLE } from "./bookkeeping.js";
import type { CqlSession } from "./session.js";

export interface LeaseOptions {
  readonly leaseSeconds: number;
  readonly timeoutMs: number;
  readonly log: (line: string) => void;
}

const NAME = "migrate";

export class CassandraLease {
  private lostReason: string | undefined;
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly session: CqlSession,
    private readonly table: string,
    readonly owner: string,
    readonly waitedMs: number,
    private readonly opts: LeaseOptions,
  ) {}

  static async acquire(
    session: CqlSession,
    keyspace: string,
    owner: string,
    opts: LeaseOptions,
  ): Promise<CassandraLease> {
    const table = `${cqlIdent(keyspace)}.${LOCK_TABLE}`;
    const started = Date.now();
    let warned = false;
    for (;;) {
      const r = await session.execute(
        `INSERT INTO ${table} (name, owner, acquired_at_ms) VALUES (?, ?, ?) IF NOT EXISTS USING TTL ?`,
        [NAME, owner, BigInt(Date.now()), opts.leaseSeconds],
      );
      if (r.applied) {
        const lease = new CassandraLease(session, table, owner, Date.now() - started, opts);
        lease.startRenewing();
        return lease;
      }
      if (Date.now() - started >= opts.timeoutMs) {
        throw new MigrationLockTimeoutError(
          `gave up waiting ${Math.round(opts.timeoutMs / 1000)} s for the Cassandra migration lease held by ${String(r.rows[0]?.owner ?? "?")} (${session.url})`,
        );
      }
      if (!warned) {
        opts.log(
          `migrate: ${String(r.rows[0]?.owner ?? "another process")} holds the migration lease on ${session.url}; waiting for it`,
        );
        warned = true;
      }
      await new Promise((res) => setTimeout(res, 500 + Math.random() * 500));
    }
  }

  private startRenewing(): void {
    const every = Math.max(1000, (this.opts.leaseSeconds * 1000) / 3);
    let failingSince: number | undefined;
    this.timer = setInterval(() => {
      this.session
        .execute(`UPDATE ${this.table} USING TTL ? SET owner = ? WHERE name = ? IF owner = ?`, [
          this.opts.leaseSeconds,
          this.owner,
          NAME,
          this.owner,
        ])
        .then(
          (r) => {
            failingSince = undefined;
            if (!r.applied) this.lostReason = `the lease was taken by ${String(r.rows[0]?.owner ?? "another process")}`;
          },
          (err: Error) => {
            failingSince ??= Date.now();
            if (Date.now() - failingSince > this.opts.leaseSeconds * 1000 * 0.6) {
              this.lostReason = `could not renew the lease: ${err.message}`;
            }
          },
        );
    }, every);
    this.timer.unref();
  }

  /** Throws if the lease was lost (another process may be migrating now). */
  assertHeld(): void {
    if (this.lostReason)
      throw new MigrationLockTimeoutError(`migration lease lost on ${this.session.url}: ${this.lostReason}`);
  }

  async release(): Promise<void> {
    clearInterval(this.timer);
    await this.session
      .execute(`DELETE FROM ${this.table} WHERE name = ? IF owner = ?`, [NAME, this.owner])
      .catch((err: Error) =>
        this.opts.log(`migrate: could not release the lease (it expires by itself): ${err.message}`),
      );
  }
}
