/**
 * A request body read from the moment the request arrives (a route's
 * `body: "eager"`, platform/kernel/routes.ts). Node's own async
 * iterator reads a request lazily and, once the connection is cut, drops
 * whatever it had buffered but not yet handed out (it stops reading a
 * destroyed stream), so bytes that reached this node before the cut would be
 * lost whenever the handler was still busy (authenticating the caller,
 * looking an upload up). Here every chunk is taken as it is parsed; the request
 * is paused above `pauseAbove` queued bytes (the rest waits in the socket)
 * and resumed below half of it. A cut connection ends the iteration with its
 * error only after every chunk that arrived was handed out.
 */
import type { Readable } from "node:stream";

export function eagerBody(req: Readable, pauseAbove = 2 << 20): AsyncIterable<Uint8Array> {
  const queue: Uint8Array[] = [];
  let queued = 0;
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const signal = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const onData = (chunk: Uint8Array) => {
    queue.push(chunk);
    queued += chunk.byteLength;
    if (queued > pauseAbove) req.pause();
    signal();
  };
  const onEnd = () => {
    ended = true;
    signal();
  };
  const onError = (err: Error) => {
    failure ??= err;
    signal();
  };
  const onClose = () => {
    if (!ended) failure ??= new Error("the connection was closed before the body ended");
    signal();
  };
  req.on("data", onData);
  req.on("end", onEnd);
  req.on("error", onError);
  req.on("close", onClose);
  const detach = () => {
    req.off("data", onData);
    req.off("end", onEnd);
    req.off("error", onError);
    req.off("close", onClose);
  };
  return {
    async *[Symbol.asyncIterator]() {
      let finished = false;
      try {
        for (;;) {
          const chunk = queue.shift();
          if (chunk) {
            queued -= chunk.byteLength;
            if (req.isPaused() && queued <= pauseAbove / 2) req.resume();
            yield chunk;
          } else if (failure) {
            throw failure;
          } else if (ended) {
            finished = true;
            return;
          } else {
            await new Promise<void>((resolve) => {
              wake = resolve;
            });
          }
        }
      } finally {
        detach();
        // Left early (a refused body): as Node's own iterator does, the rest is not read.
        if (!finished && !failure && !req.destroyed) req.destroy();
      }
    },
  };
}
