/**
 * echo: a fixture service for the kernel's tests and the RPC benchmark.
 * Not a product service: it runs only with `--services=testing` (or echo).
 */
import { EchoService } from "../../gen/orbit/testing/v1/echo_pb.js";
import { EchoNoteRowTable } from "../../gen/orbit/testing/v1/tables_db.js";
import { defineService, implement } from "../../platform/kernel/service.js";
import { echoHandlers } from "./handlers.js";
import { echoRoutes } from "./routes.js";

export const echo = defineService({
  name: "echo",
  description: "test fixture: echoes, fails on demand, reports what the kernel told it",
  rpc: [implement(EchoService, (ctx) => echoHandlers(ctx))],
  tables: [EchoNoteRowTable],
  routes: () => echoRoutes(),
});
