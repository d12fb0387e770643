/**
 * Trace context in the W3C `traceparent` format
 * (`00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`). Every call gets a
 * span of its own; the trace id is kept from the caller (in-process or over
 * the network) or started afresh at the edge.
 */
import { randomBytes } from "node:crypto";

export const TRACEPARENT_HEADER = "traceparent";

export interface TraceContext {
  readonly traceId: string;
  readonly spanId: string;
  /** The caller's span, if the call came with one. */
  readonly parentSpanId?: string;
  readonly sampled: boolean;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** Parses a traceparent header; undefined if absent or malformed (a new trace is started then). */
export function parseTraceparent(value: string | null | undefined): TraceContext | undefined {
  if (!value) return undefined;
  const m = TRACEPARENT.exec(value.trim().toLowerCase());
  if (!m || m[1] === "ff" || /^0+$/.test(m[2]!) || /^0+$/.test(m[3]!)) return undefined;
  return { traceId: m[2]!, spanId: m[3]!, sampled: (parseInt(m[4]!, 16) & 1) === 1 };
}

export function formatTraceparent(t: TraceContext): string {
  return `00-${t.traceId}-${t.spanId}-${t.sampled ? "01" : "00"}`;
}

/** A new span under `parent`, or the root span of a new trace. */
export function childSpan(parent: TraceContext | undefined): TraceContext {
  if (!parent) return { traceId: hex(16), spanId: hex(8), sampled: false };
  return { traceId: parent.traceId, spanId: hex(8), parentSpanId: parent.spanId, sampled: parent.sampled };
}

// Random ids come from a pooled buffer: randomBytes per call is slow.
let pool = Buffer.alloc(0);
let offset = 0;
function hex(bytes: number): string {
  if (offset + bytes > pool.length) {
    pool = randomBytes(4096);
    offset = 0;
  }
  const s = pool.toString("hex", offset, offset + bytes);
  offset += bytes;
  return s;
}

/** A random request id (16 hex chars). */
export function newRequestId(): string {
  return hex(8);
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The request id a client sent (x-request-id) if it is well-formed, else a new one. */
export function incomingRequestId(given: string | null | undefined): string {
  return given != null && REQUEST_ID.test(given) ? given : newRequestId();
}
