/** cassandra-driver's consistency level names (types.consistencies; client.test.ts keeps the two in step). */
export const CASSANDRA_CONSISTENCIES = [
  "any",
  "one",
  "two",
  "three",
  "quorum",
  "all",
  "localQuorum",
  "eachQuorum",
  "serial",
  "localSerial",
  "localOne",
] as const;

export type CassandraConsistency = (typeof CASSANDRA_CONSISTENCIES)[number];

export function isCassandraConsistency(v: string): v is CassandraConsistency {
  return (CASSANDRA_CONSISTENCIES as readonly string[]).includes(v);
}
