/**
 * echo: a fixture service for the kernel's tests and the RPC benchmark.
 * Not a product service: it runs only with `--services=testing` (or echo).
 * Besides its RPCs it serves HTTP routes and WebSocket endpoints (routes.ts).
 */
import { EchoService } from "../../gen/orbit/testing/v1/echo_pb.js";
import { EchoNoteRowTable } from "../../gen/orbit/testing/v1/tables_db.js";
import { defineService } from "../../platform/kernel/service.js";
import { echoHandlers } from "./handlers.js";
import { echoRoutes, echoSockets } from "./routes.js";

export const echo = defineService({
  name: "echo",
  description: "test fixture: echoes, fails on demand, reports what the kernel told it",
  api: [EchoService],
  tables: [EchoNoteRowTable],
  build: (ctx) => ({ rpc: [echoHandlers(ctx)], routes: echoRoutes(), sockets: echoSockets() }),
});
