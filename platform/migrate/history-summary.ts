/**
 * What planning reads from the history, whatever the store: the states each
 * table reached (to recognise a binary older than the schema), the data
 * migrations applied, and steps a crashed run left "running".
 */
import type { HistoryRow } from "./history.js";

export interface TableStates {
  /** The state recorded last. */
  readonly latest: HistoryRow;
  /** Every fingerprint the table ever had. */
  readonly fingerprints: ReadonlySet<string>;
  /** Every set of declared column types recorded for it (state rows' `statements`, when not empty). */
  readonly declared: ReadonlySet<string>;
}

export interface HistorySummary {
  readonly states: ReadonlyMap<string, TableStates>;
  readonly dataApplied: ReadonlyMap<string, HistoryRow>;
  readonly interrupted: readonly HistoryRow[];
}

export function summariseHistory(rows: readonly HistoryRow[]): HistorySummary {
  const states = new Map<string, { latest: HistoryRow; fingerprints: Set<string>; declared: Set<string> }>();
  const dataApplied = new Map<string, HistoryRow>();
  const interrupted: HistoryRow[] = [];
  for (const row of rows) {
    if (row.status === "running") interrupted.push(row);
    else if (row.kind === "state") {
      const s = states.get(row.subject) ?? {
        latest: row,
        fingerprints: new Set<string>(),
        declared: new Set<string>(),
      };
      s.latest = row;
      s.fingerprints.add(row.checksum);
      if (row.statements) s.declared.add(row.statements);
      states.set(row.subject, s);
    } else if (row.kind === "data" && row.status === "applied") dataApplied.set(row.subject, row);
  }
  return { states, dataApplied, interrupted };
}

/**
 * True if the table's schema in this binary (`fingerprint`) is one the
 * database had before and has since left: the binary is older than the
 * database (or reverts a change on purpose).
 */
export function isSuperseded(states: TableStates | undefined, fingerprint: string): states is TableStates {
  return states !== undefined && states.latest.checksum !== fingerprint && states.fingerprints.has(fingerprint);
}

/**
 * The same for the declared column types (declaredTypes): this binary's
 * were recorded before and the table has since moved on. This is how SQLite,
 * where int32 and int64 have one fingerprint, recognises a newer binary's
 * widening. False when the latest state has no declared types.
 */
export function isDeclaredSuperseded(states: TableStates | undefined, declared: string): states is TableStates {
  return (
    states !== undefined &&
    !!states.latest.statements &&
    states.latest.statements !== declared &&
    states.declared.has(declared)
  );
}
