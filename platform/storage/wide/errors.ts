/** Errors of the wide-table runtime. */

/**
 * Bad input to a wide DAO or store: a missing or mistyped key field, a bound
 * that is not a clustering prefix, a bad limit or page token, a bad TTL. The
 * message names the table, the method and the field.
 */
export class WideInputError extends RangeError {
  override readonly name = "WideInputError";
}
