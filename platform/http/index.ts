export {
  OrbitServer,
  type OrbitServerOptions,
  type Listening,
  type ShutdownResult,
  type RequestHandler,
  type UpgradeHandler,
} from "./server.js";
export { RouteTable, type HttpRoute } from "./routes.js";
export { sendJson } from "./json.js";
export { detectProtocol, HTTP2_PREFACE } from "./preface.js";
export type { NodeServerRequest, NodeServerResponse } from "./types.js";
