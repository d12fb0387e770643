/**
 * The baseline of `npm run bench -- rpc`: a bare node:http2 cleartext server
 * that answers every POST with the bytes it was sent (no framework, no
 * protobuf). Usage: node --import tsx tools/bench/_rpc-raw-server.ts <port>
 */
import http2 from "node:http2";

const port = Number(process.argv[2] ?? 0);
const server = http2.createServer();
server.on("stream", (stream) => {
  const chunks: Buffer[] = [];
  stream.on("data", (c: Buffer) => chunks.push(c));
  stream.on("end", () => {
    const body = Buffer.concat(chunks);
    stream.respond({ ":status": 200, "content-type": "application/proto", "content-length": body.length });
    stream.end(body);
  });
  stream.on("error", () => undefined);
});
server.listen(port, "127.0.0.1", () => {
  const addr = server.address();
  process.stdout.write(`listening ${typeof addr === "object" && addr ? addr.port : port}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
