/**
 * What one request may cost before a handler runs: its size per content type
 * and per method, and (for JSON) how deeply it may nest.
 *
 * A method can lower the bundle's limits in its proto:
 *
 *   rpc CreatePost(CreatePostRequest) returns (CreatePostResponse) {
 *     option (orbit.options.v1.limits) = { max_request_bytes: 65536 timeout_ms: 5000 per_minute: 60 };
 *   }
 *
 * JSON is refused while it arrives (json-budget.ts) once it is larger than
 * `maxJsonBytes` or nests deeper than `maxJsonDepth`, so JSON.parse only ever
 * sees a body it parses in milliseconds.
 */
import { getOption, hasOption, type DescMethod } from "@bufbuild/protobuf";
import { limits as limitsExt } from "../../gen/orbit/options/v1/options_pb.js";

/** Largest RPC message a bundle sends or accepts, in bytes (16 MiB). */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** The bundle-wide limits (settings). */
export interface RequestLimitDefaults {
  /** Largest binary request message (default 16 MiB). */
  readonly maxRequestBytes: number;
  /** Largest JSON request message (default 1 MiB). */
  readonly maxJsonBytes: number;
  /** Deepest nesting of arrays and objects in a JSON request (default 64). */
  readonly maxJsonDepth: number;
  /** Longest deadline of any call, in ms (default 30 s); a call without one gets it. */
  readonly maxCallTimeoutMs: number;
}

export const DEFAULT_REQUEST_LIMITS: RequestLimitDefaults = {
  maxRequestBytes: MAX_MESSAGE_BYTES,
  maxJsonBytes: 1024 * 1024,
  maxJsonDepth: 64,
  maxCallTimeoutMs: 30_000,
};

/** The limits of one method. */
export interface MethodLimits {
  readonly maxBinaryBytes: number;
  readonly maxJsonBytes: number;
  readonly maxJsonDepth: number;
  /** The call's longest deadline, in ms. */
  readonly timeoutMs: number;
  /** Calls per minute per address and per user; 0 = not counted. */
  readonly perMinute: number;
}

const cache = new WeakMap<DescMethod, Map<RequestLimitDefaults, MethodLimits>>();

export function methodLimits(method: DescMethod, d: RequestLimitDefaults = DEFAULT_REQUEST_LIMITS): MethodLimits {
  let byDefaults = cache.get(method);
  if (!byDefaults) cache.set(method, (byDefaults = new Map()));
  let l = byDefaults.get(d);
  if (!l) {
    const o = hasOption(method, limitsExt) ? getOption(method, limitsExt) : undefined;
    const cap = (own: number | undefined, bundle: number) => (own ? Math.min(own, bundle) : bundle);
    l = {
      maxBinaryBytes: cap(o?.maxRequestBytes, d.maxRequestBytes),
      maxJsonBytes: cap(o?.maxRequestBytes, d.maxJsonBytes),
      maxJsonDepth: d.maxJsonDepth,
      timeoutMs: cap(o?.timeoutMs, d.maxCallTimeoutMs),
      perMinute: o?.perMinute ?? 0,
    };
    byDefaults.set(d, l);
  }
  return l;
}

/** Whether a content type carries JSON messages (Connect, gRPC, gRPC-Web). */
export function isJsonContentType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const t = contentType.split(";")[0]!.trim().toLowerCase();
  return t === "application/json" || t.endsWith("+json");
}

/** Whether the messages of a content type are enveloped (streaming Connect, gRPC, gRPC-Web). */
export function isEnveloped(contentType: string | undefined): boolean {
  const t = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  return t.startsWith("application/grpc") || t.startsWith("application/connect+");
}
