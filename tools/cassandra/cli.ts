/**
 * npm run cassandra:start [-- --fresh] [--port N] [--host H] [--dir D] [--heap MB]
 * npm run cassandra:stop  [-- --port N] [--host H] [--dir D]
 * npm run cassandra:status
 *
 * A local single-node Cassandra 5.0 for tests and development (see
 * tools/cassandra/node.ts and docs/wide-tables.md). Start prints where it
 * listens, how long it took, and the line to export for the tests.
 */
import { parseArgs } from "node:util";
import { cqlAnswers, nodeLayout, runningPid, rssMb, startNode, stopNode } from "./node.js";

const USAGE = `usage: node --import tsx tools/cassandra/cli.ts <start|stop|status> [--fresh] [--port 9042] [--host 127.0.0.1] [--dir DIR] [--heap 1024]`;

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      fresh: { type: "boolean" },
      port: { type: "string" },
      host: { type: "string" },
      dir: { type: "string" },
      heap: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const command = positionals[0];
  if (values.help || !command || positionals.length > 1) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const opts = {
    host: values.host,
    nativePort: values.port ? Number(values.port) : undefined,
    dir: values.dir,
    heapMb: values.heap ? Number(values.heap) : undefined,
    log: (line: string) => process.stdout.write(`cassandra: ${line}\n`),
  };
  if (
    opts.nativePort !== undefined &&
    !(Number.isInteger(opts.nativePort) && opts.nativePort > 2042 && opts.nativePort < 65535)
  ) {
    process.stderr.write(`cassandra: --port ${values.port} is not a port number above 2042\n`);
    return 2;
  }
  switch (command) {
    case "start": {
      const node = await startNode({ ...opts, fresh: values.fresh });
      process.stdout.write(
        `cassandra: listening on ${node.contactPoint} (datacenter1)` +
          `${node.reused ? ", already running" : `, started in ${(node.ms / 1000).toFixed(1)} s`}\n` +
          `cassandra: export CASSANDRA_CONTACT_POINTS=${node.contactPoint}\n`,
      );
      return 0;
    }
    case "stop":
      await stopNode(opts);
      return 0;
    case "status": {
      const layout = nodeLayout(opts);
      const pid = runningPid(layout);
      const answers = await cqlAnswers(layout.host, layout.nativePort);
      process.stdout.write(
        `cassandra: ${layout.host}:${layout.nativePort} ${answers ? "answers CQL" : "does not answer"}; ` +
          `${pid ? `pid ${pid}, RSS ${rssMb(pid) ?? "?"} MiB` : "no process of this directory"} (${layout.dir})\n`,
      );
      return answers ? 0 : 1;
    }
    default:
      process.stderr.write(`${USAGE}\n`);
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`cassandra: ${err.message}\n`);
    process.exit(1);
  },
);
