/**
 * Message ↔ column values for one wide table: checks every value against its
 * column (type and range, so a bad value fails here with the field's name,
 * not deep in a driver), and builds row messages back from column values.
 * Nested messages, repeated and map fields are stored as protobuf binary, or
 * as JSON text when the column says so.
 */
import { create, fromBinary, fromJson, toBinary, toJson } from "@bufbuild/protobuf";
import type { DescField, DescMessage, JsonValue, Message } from "@bufbuild/protobuf";
import type { ColumnSpec, WideTableSpec } from "../schema.js";
import { WideInputError } from "./errors.js";
import type { WideValue, WideValues } from "./store.js";

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const EMPTY = new Uint8Array(0);

interface Column {
  readonly spec: ColumnSpec;
  /** Column name and field name (hot-path copies of spec.name/spec.field). */
  readonly name: string;
  readonly fieldName: string;
  /** Part of the primary key (must be present when writing). */
  isKey: boolean;
  readonly field: DescField;
  /** Field value → column value (throws WideInputError naming `where`). */
  encode(v: unknown, where: string): WideValue;
  /** Column value → field value (undefined leaves the field unset). */
  decode(v: WideValue): unknown;
}

function describe(v: unknown): string {
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v);
  if (v instanceof Uint8Array) return `${v.byteLength} bytes`;
  if (v === null) return "null";
  if (typeof v === "object") return "an object";
  return `${typeof v} ${String(v)}`;
}

/**
 * Checks that `v` is a valid value of the scalar column `c` (type and range)
 * and returns it; throws WideInputError naming `where` and the field.
 */
export function scalarCheck(c: ColumnSpec, v: unknown, where: string): WideValue {
  const bad = (want: string): never => {
    throw new WideInputError(`${where}: ${c.field} (${c.name}) must be ${want}, got ${describe(v)}`);
  };
  switch (c.encoding) {
    case "int":
    case "enum": {
      if (typeof v !== "number" || !Number.isInteger(v)) return bad(c.unsigned ? "a uint32" : "an int32");
      const ok = c.unsigned ? v >= 0 && v <= 4294967295 : v >= -2147483648 && v <= 2147483647;
      return ok ? v : bad(c.unsigned ? "a uint32" : "an int32");
    }
    case "bigint": {
      if (typeof v !== "bigint") return bad(c.unsigned ? "a uint64 bigint" : "an int64 bigint");
      const ok = c.unsigned ? v >= 0n && v <= UINT64_MAX : v >= INT64_MIN && v <= INT64_MAX;
      return ok ? v : bad(c.unsigned ? "a uint64 bigint" : "an int64 bigint");
    }
    case "double":
      return typeof v === "number" ? v : bad("a number");
    case "bool":
      return typeof v === "boolean" ? v : bad("a boolean");
    case "string":
      return typeof v === "string" ? v : bad("a string");
    case "bytes":
      return v instanceof Uint8Array ? v : bad("a Uint8Array");
    default:
      return bad("a scalar");
  }
}

function zeroOf(c: ColumnSpec, field: DescField): unknown {
  if (field.fieldKind === "list") return [];
  if (field.fieldKind === "map") return {};
  if (field.fieldKind === "message") return undefined;
  switch (c.encoding) {
    case "bigint":
      return 0n;
    case "bool":
      return false;
    case "string":
      return "";
    case "bytes":
      return EMPTY;
    default:
      return 0;
  }
}

function plainBytes(v: Uint8Array): Uint8Array {
  return Buffer.isBuffer(v) ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : v;
}

function columnOf(row: DescMessage, c: ColumnSpec): Column {
  const field = row.fields.find((f) => f.localName === c.field);
  if (!field) throw new Error(`${row.typeName} has no field ${c.field} (column ${c.name})`);
  const zero = zeroOf(c, field);
  const nullable = c.nullable;
  if (c.encoding === "proto" || c.encoding === "json") {
    const asJson = c.encoding === "json";
    const single = field.fieldKind === "message" ? field.message : undefined;
    return {
      spec: c,
      name: c.name,
      fieldName: c.field,
      isKey: false,
      field,
      encode(v, where) {
        if (v === undefined || v === null) {
          if (single) return null;
          v = zero;
        }
        try {
          if (single) {
            const m = v as Message;
            return asJson ? JSON.stringify(toJson(single, m)) : toBinary(single, m);
          }
          const holder = create(row, { [field.localName]: v } as never);
          if (asJson) {
            const j = toJson(row, holder, { alwaysEmitImplicit: true }) as Record<string, JsonValue>;
            return JSON.stringify(j[field.jsonName] ?? (field.fieldKind === "map" ? {} : []));
          }
          return toBinary(row, holder);
        } catch (err) {
          throw new WideInputError(`${where}: ${c.field} (${c.name}) cannot be encoded: ${(err as Error).message}`);
        }
      },
      decode(v) {
        if (v === null) return zero;
        if (single) {
          return asJson ? fromJson(single, JSON.parse(v as string) as JsonValue) : fromBinary(single, v as Uint8Array);
        }
        const holder = asJson
          ? fromJson(row, { [field.jsonName]: JSON.parse(v as string) as JsonValue })
          : fromBinary(row, v as Uint8Array);
        return (holder as unknown as Record<string, unknown>)[field.localName];
      },
    };
  }
  return {
    spec: c,
    name: c.name,
    fieldName: c.field,
    isKey: false,
    field,
    encode(v, where) {
      if (v === undefined || v === null) {
        if (nullable) return null;
        return zero as WideValue;
      }
      return scalarCheck(c, v, where);
    },
    decode(v) {
      if (v === null) return nullable ? undefined : zero;
      return v instanceof Uint8Array ? plainBytes(v) : v;
    },
  };
}

/** Encodes and decodes the rows of one wide table. */
export class RowCodec<Row extends Message> {
  private readonly columns: readonly Column[];
  private readonly byName: ReadonlyMap<string, Column>;
  private readonly byField: ReadonlyMap<string, Column>;
  readonly partition: readonly Column[];
  readonly clustering: readonly Column[];
  readonly key: readonly Column[];
  readonly counters: readonly Column[];
  private readonly typeName: string;

  constructor(
    readonly spec: WideTableSpec,
    readonly schema: DescMessage,
  ) {
    this.typeName = schema.typeName;
    this.columns = spec.columns.map((c) => columnOf(schema, c));
    this.byName = new Map(this.columns.map((c) => [c.spec.name, c]));
    this.byField = new Map(this.columns.map((c) => [c.spec.field, c]));
    const pick = (n: string) => this.byName.get(n)!;
    this.partition = spec.partitionKey.map(pick);
    this.clustering = spec.clustering.map((c) => pick(c.column));
    this.key = spec.primaryKey.map(pick);
    for (const c of this.key) c.isKey = true;
    this.counters = this.columns.filter((c) => c.spec.counter);
  }

  /** The values of `cols` taken from `obj` (a key or a row); every one is required. */
  keyValues(obj: unknown, cols: readonly Column[], where: string): WideValue[] {
    if (obj === null || typeof obj !== "object") {
      throw new WideInputError(`${where}: expected an object with ${cols.map((c) => c.spec.field).join(", ")}`);
    }
    const o = obj as Record<string, unknown>;
    const out = new Array<WideValue>(cols.length);
    for (let i = 0; i < cols.length; i++) {
      const c = cols[i]!;
      const v = o[c.spec.field];
      if (v === undefined || v === null) {
        throw new WideInputError(`${where}: key field ${c.spec.field} (${c.spec.name}) is missing`);
      }
      out[i] = scalarCheck(c.spec, v, where);
    }
    return out;
  }

  /**
   * A clustering prefix for a scan bound: the fields given must be the first
   * k clustering columns, in any object key order.
   */
  prefixValues(obj: unknown, where: string): WideValue[] {
    if (this.clustering.length === 0) {
      throw new WideInputError(`${where}: table ${this.spec.name} has no clustering columns to bound`);
    }
    if (obj === null || typeof obj !== "object") {
      throw new WideInputError(`${where}: expected an object with a prefix of ${this.clusteringFields()}`);
    }
    const o = obj as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (o[k] !== undefined && !this.clustering.some((c) => c.spec.field === k)) {
        throw new WideInputError(
          `${where}: ${k} is not a clustering column of ${this.spec.name} (${this.clusteringFields()})`,
        );
      }
    }
    const out: WideValue[] = [];
    let gap: string | undefined;
    for (const c of this.clustering) {
      const v = o[c.spec.field];
      if (v === undefined) {
        gap ??= c.spec.field;
        continue;
      }
      if (gap !== undefined) {
        throw new WideInputError(
          `${where}: a bound must be a prefix of the clustering columns (${this.clusteringFields()}); ${c.spec.field} is given without ${gap}`,
        );
      }
      out.push(scalarCheck(c.spec, v, where));
    }
    if (out.length === 0) {
      throw new WideInputError(`${where}: a bound needs at least ${this.clustering[0]!.spec.field}`);
    }
    return out;
  }

  private clusteringFields(): string {
    return this.clustering.map((c) => c.spec.field).join(", ");
  }

  /** Every column of `row` (absent non-key fields take their zero value). */
  rowValues(row: unknown, where: string): WideValues {
    if (row === null || typeof row !== "object") {
      throw new WideInputError(`${where}: expected a row object with ${this.key.map((c) => c.fieldName).join(", ")}`);
    }
    const o = row as Record<string, unknown>;
    const out: WideValues = {};
    const cols = this.columns;
    for (let i = 0; i < cols.length; i++) {
      const c = cols[i]!;
      const v = o[c.fieldName];
      if (c.isKey && (v === undefined || v === null)) {
        throw new WideInputError(`${where}: key field ${c.fieldName} (${c.name}) is missing`);
      }
      out[c.name] = c.encode(v, where);
    }
    return out;
  }

  /** Counter deltas by column name; only counter fields are accepted. */
  deltaValues(delta: unknown, where: string): Record<string, bigint> {
    if (this.counters.length === 0)
      throw new WideInputError(`${where}: table ${this.spec.name} has no counter columns`);
    if (delta === null || typeof delta !== "object") {
      throw new WideInputError(
        `${where}: expected an object of counter deltas (${this.counters.map((c) => c.spec.field).join(", ")})`,
      );
    }
    const out: Record<string, bigint> = {};
    for (const [k, v] of Object.entries(delta as Record<string, unknown>)) {
      if (v === undefined) continue;
      const c = this.byField.get(k);
      if (!c?.spec.counter) {
        throw new WideInputError(`${where}: ${k} is not a counter column of ${this.spec.name}`);
      }
      if (typeof v !== "bigint" && !(typeof v === "number" && Number.isSafeInteger(v))) {
        throw new WideInputError(`${where}: the delta of ${k} must be a bigint or a safe integer, got ${describe(v)}`);
      }
      const d = BigInt(v);
      if (d < INT64_MIN || d > INT64_MAX) throw new WideInputError(`${where}: the delta of ${k} is outside int64`);
      out[c.spec.name] = d;
    }
    for (const c of this.counters) out[c.spec.name] ??= 0n;
    return out;
  }

  /** The row message for column values read from a store. */
  decode(values: WideValues): Row {
    const msg: Record<string, unknown> = { $typeName: this.typeName };
    const cols = this.columns;
    for (let i = 0; i < cols.length; i++) {
      const c = cols[i]!;
      const v = c.decode(values[c.name] ?? null);
      if (v !== undefined) msg[c.fieldName] = v;
    }
    return msg as Row;
  }
}
