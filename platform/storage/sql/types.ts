/** Shapes of the values generated DAOs take. */

type Meta = "$typeName" | "$unknown";

/** A row to insert: the key fields are required; absent fields take their zero value. */
export type RowInit<Row, Key extends keyof Row> = Partial<Omit<Row, Meta>> & Pick<Row, Key>;

/** The fields to change; `null` clears a nullable column. */
export type RowPatch<Row, Fixed extends keyof Row, Nullable extends keyof Row> = {
  [K in Exclude<keyof Row, Meta | Fixed>]?: K extends Nullable ? Row[K] | null : Row[K];
};
