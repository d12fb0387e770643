/**
 * Reads Orbit's custom options by reflection. The extensions are looked up in
 * the descriptors of the CodeGeneratorRequest itself (options.proto is always
 * among the imports of a file that uses them), so the generators need no
 * generated code of their own and `gen/` can be rebuilt from nothing.
 */
import { getOption, hasOption } from "@bufbuild/protobuf";
import type { DescExtension, DescField, DescFile, DescMessage } from "@bufbuild/protobuf";

/** The shape of orbit.options.v1.Index as reflection returns it. */
export interface IndexOpt {
  columns: string[];
  name: string;
}
export interface SqlTableOpt {
  name: string;
  primaryKey: string[];
  index: IndexOpt[];
  uniqueIndex: IndexOpt[];
}
export interface WideTableOpt {
  name: string;
  partitionKey: string[];
  clustering: { column: string; order: number }[];
  defaultTtlSeconds: number;
}
export interface TableOpt {
  kind:
    | { case: "sql"; value: SqlTableOpt }
    | { case: "wide"; value: WideTableOpt }
    | { case: undefined; value?: undefined };
}
export interface ColumnOpt {
  sqlType: string;
  nullable: boolean;
  default: string;
  renamedFrom: string[];
  counter: boolean;
  json: boolean;
}

/** orbit.options.v1.Order */
export const ORDER_DESC = 2;

export class OrbitOptions {
  private constructor(
    private readonly table: DescExtension,
    private readonly column: DescExtension,
  ) {}

  /** Finds the extensions among `files`; undefined if options.proto is not there. */
  static find(files: readonly DescFile[]): OrbitOptions | undefined {
    let table: DescExtension | undefined;
    let column: DescExtension | undefined;
    for (const f of files) {
      for (const ext of f.extensions) {
        if (ext.typeName === "orbit.options.v1.table") table = ext;
        if (ext.typeName === "orbit.options.v1.column") column = ext;
      }
    }
    return table && column ? new OrbitOptions(table, column) : undefined;
  }

  tableOf(message: DescMessage): TableOpt | undefined {
    if (!hasOption(message, this.table)) return undefined;
    return getOption(message, this.table) as unknown as TableOpt;
  }

  columnOf(field: DescField): ColumnOpt | undefined {
    if (!hasOption(field, this.column)) return undefined;
    return getOption(field, this.column) as unknown as ColumnOpt;
  }
}
