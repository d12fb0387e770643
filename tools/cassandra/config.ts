/**
 * What a local Cassandra node is started with: its cassandra.yaml, its
 * logback.xml and the java command line. One small single-node cluster per
 * data directory, tuned to start fast on a 2-core machine and to stay small
 * (heap 1 GiB at most, small memtables and caches, no JMX, no hints).
 */
import { join } from "node:path";

export interface NodeLayout {
  /** The node's own directory: config, data, commit log, logs, pid file. */
  readonly dir: string;
  /** Address it listens on (CQL and inter-node). */
  readonly host: string;
  /** CQL (native protocol) port. */
  readonly nativePort: number;
  /** Inter-node port (nothing else talks to it; it must only be free). */
  readonly storagePort: number;
  /** Heap in MiB (at most 1024). */
  readonly heapMb: number;
}

export const files = (dir: string) => ({
  yaml: join(dir, "conf", "cassandra.yaml"),
  logback: join(dir, "conf", "logback.xml"),
  pid: join(dir, "cassandra.pid"),
  /** The JVM's stdout/stderr (start-up failures before logging is up land here). */
  out: join(dir, "logs", "stdout.log"),
  /** Cassandra's own log (INFO). */
  log: join(dir, "logs", "system.log"),
  data: join(dir, "data"),
});

/** A minimal cassandra.yaml (5.0 names) for one node that is its own seed. */
export function cassandraYaml(n: NodeLayout): string {
  const d = (sub: string) => JSON.stringify(join(n.dir, sub));
  return `# Written by tools/cassandra/node.ts: a single development/test node.
cluster_name: "orbit-${n.nativePort}"
num_tokens: 1
initial_token: 0
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
auto_bootstrap: false
endpoint_snitch: SimpleSnitch
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "${n.host}:${n.storagePort}"
listen_address: ${n.host}
rpc_address: ${n.host}
storage_port: ${n.storagePort}
ssl_storage_port: ${n.storagePort + 1}
native_transport_port: ${n.nativePort}
start_native_transport: true

data_file_directories: [${d("data")}]
commitlog_directory: ${d("commitlog")}
saved_caches_directory: ${d("saved_caches")}
hints_directory: ${d("hints")}
cdc_raw_directory: ${d("cdc_raw")}

authenticator: AllowAllAuthenticator
authorizer: AllowAllAuthorizer
commitlog_sync: periodic
commitlog_sync_period: 10000ms
hinted_handoff_enabled: false

# Small: a test node shares the machine with everything else.
memtable_heap_space: 128MiB
memtable_offheap_space: 64MiB
key_cache_size: 16MiB
counter_cache_size: 8MiB
file_cache_size: 64MiB
networking_cache_size: 16MiB
concurrent_reads: 16
concurrent_writes: 16
concurrent_counter_writes: 16
concurrent_compactors: 1
# Tests create and drop many keyspaces: snapshots before a drop only fill the disk.
auto_snapshot: false
`;
}

/** Logs to <dir>/logs/system.log (INFO), warnings also to stdout (→ stdout.log). */
export function logbackXml(dir: string): string {
  const log = files(dir).log;
  return `<configuration scan="false">
  <appender name="FILE" class="ch.qos.logback.core.rolling.RollingFileAppender">
    <file>${log}</file>
    <rollingPolicy class="ch.qos.logback.core.rolling.FixedWindowRollingPolicy">
      <fileNamePattern>${log}.%i.zip</fileNamePattern>
      <minIndex>1</minIndex>
      <maxIndex>3</maxIndex>
    </rollingPolicy>
    <triggeringPolicy class="ch.qos.logback.core.rolling.SizeBasedTriggeringPolicy">
      <maxFileSize>20MB</maxFileSize>
    </triggeringPolicy>
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
    <filter class="ch.qos.logback.classic.filter.ThresholdFilter"><level>WARN</level></filter>
    <encoder><pattern>%-5level %date{HH:mm:ss.SSS} %msg%n</pattern></encoder>
  </appender>
  <root level="INFO">
    <appender-ref ref="FILE" />
    <appender-ref ref="STDOUT" />
  </root>
</configuration>
`;
}

/**
 * Cassandra's own conf/jvm17-server.options (5.0): the module exports and
 * opens it needs on Java 17, and its Netty settings.
 */
const JVM17_SERVER_OPTIONS = [
  "-Djdk.attach.allowAttachSelf=true",
  "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED",
  "--add-exports=java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED",
  "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
  "--add-exports=java.rmi/sun.rmi.server=ALL-UNNAMED",
  "--add-exports=java.sql/java.sql=ALL-UNNAMED",
  "--add-exports=java.base/java.lang.ref=ALL-UNNAMED",
  "--add-exports=jdk.unsupported/sun.misc=ALL-UNNAMED",
  "--add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED",
  "--add-exports=jdk.attach/sun.tools.attach=ALL-UNNAMED",
  "--add-opens=java.base/java.lang.module=ALL-UNNAMED",
  "--add-opens=java.base/jdk.internal.loader=ALL-UNNAMED",
  "--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED",
  "--add-opens=java.base/jdk.internal.reflect=ALL-UNNAMED",
  "--add-opens=java.base/jdk.internal.math=ALL-UNNAMED",
  "--add-opens=java.base/jdk.internal.module=ALL-UNNAMED",
  "--add-opens=java.base/jdk.internal.util.jar=ALL-UNNAMED",
  "--add-opens=jdk.management/com.sun.management.internal=ALL-UNNAMED",
  "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
  "--add-opens=java.base/java.io=ALL-UNNAMED",
  "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
  "--add-opens=jdk.compiler/com.sun.tools.javac=ALL-UNNAMED",
  "--add-opens=java.base/java.lang=ALL-UNNAMED",
  "--add-opens=java.base/java.util=ALL-UNNAMED",
  "-Dio.netty.tryReflectionSetAccessible=true",
  "-Dio.netty.allocator.useCacheForAllThreads=true",
  "-Dio.netty.allocator.maxOrder=11",
];

/** The java arguments that run CassandraDaemon for this layout. */
export function javaArgs(n: NodeLayout, classpath: string, jammJar: string): string[] {
  const f = files(n.dir);
  return [
    `-Xms${Math.min(n.heapMb, 256)}m`,
    `-Xmx${n.heapMb}m`,
    "-Xss256k",
    "-XX:MaxDirectMemorySize=256m",
    "-XX:+UseG1GC",
    "-XX:+ParallelRefProcEnabled",
    "-XX:MaxTenuringThreshold=1",
    "-XX:+PerfDisableSharedMem",
    "-XX:+CrashOnOutOfMemoryError",
    "-Djava.net.preferIPv4Stack=true",
    ...JVM17_SERVER_OPTIONS,
    `-javaagent:${jammJar}`,
    `-Dcassandra.config=file://${f.yaml}`,
    `-Dlogback.configurationFile=${f.logback}`,
    `-Dcassandra.storagedir=${n.dir}`,
    `-Dcassandra.logdir=${join(n.dir, "logs")}`,
    // A one-node cluster: nothing to wait for.
    "-Dcassandra.skip_wait_for_gossip_to_settle=0",
    "-Dcassandra.ring_delay_ms=100",
    "-Dcassandra.load_ring_state=false",
    "-cp",
    classpath,
    "org.apache.cassandra.service.CassandraDaemon",
  ];
}
