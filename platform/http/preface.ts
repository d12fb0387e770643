/**
 * HTTP/2 with prior knowledge starts with a fixed connection preface; an
 * HTTP/1.1 request starts with a method name. Looking at the first bytes of
 * a connection is enough to tell which server should have it.
 */
export const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/**
 * "h2" or "http/1.1" once `head` (the first bytes received) decides it,
 * undefined while they are a shorter prefix of the HTTP/2 preface.
 */
export function detectProtocol(head: Buffer): "h2" | "http/1.1" | undefined {
  const n = Math.min(head.length, HTTP2_PREFACE.length);
  if (head.subarray(0, n).equals(HTTP2_PREFACE.subarray(0, n))) {
    return head.length >= HTTP2_PREFACE.length ? "h2" : undefined;
  }
  return "http/1.1";
}
