// A nested-JSON flood from its own process (test/reliability/json-flood.test.ts):
// `node json-flood.mjs <baseUrl> <path> <ms> <lanes> <mib>` sends `[[[[…` bodies of
// <mib> MiB to <path> — with a declared content-length, and streamed without
// one — over HTTP/1.1 and HTTP/2 in turn on each lane, until <ms> have passed;
// prints one JSON line: the answers counted by "h1|h2 declared|streamed status
// code" and the requests that got no answer.
import http from "node:http";
import http2 from "node:http2";

const [base, path, ms, lanes, mib] = process.argv.slice(2);
const body = Buffer.alloc(Number(mib) * 1024 * 1024, "[");
const json = { "content-type": "application/json" };
const declaredHeaders = { ...json, "content-length": String(body.length) };
const answers = {};
const unanswered = {};
const miss = (key) => (unanswered[key] = (unanswered[key] ?? 0) + 1);
const count = (key) => (answers[key] = (answers[key] ?? 0) + 1);
const code = (text) => {
  try {
    return JSON.parse(text).code ?? "ok";
  } catch {
    return "unparsed";
  }
};

function pump(w) {
  let at = 0;
  const step = () => {
    while (at < body.length) {
      const piece = body.subarray(at, at + 64 * 1024);
      at += piece.length;
      if (!w.write(piece)) return void w.once("drain", step);
    }
    w.end();
  };
  w.on("error", () => undefined);
  step();
}

function h1(declared) {
  const headers = declared ? declaredHeaders : json;
  const kind = `h1 ${declared ? "declared" : "streamed"}`;
  return new Promise((resolve) => {
    let answered = false;
    const req = http.request(`${base}${path}`, { agent: false, method: "POST", headers }, (res) => {
      answered = true;
      let text = "";
      res.on("data", (d) => (text += d));
      res.on("end", () => resolve(count(`${kind} ${res.statusCode} ${code(text)}`)));
      res.on("error", () => resolve(count(`${kind} ${res.statusCode} cut`)));
    });
    req.on("error", (err) => answered || resolve(miss(`${kind} ${err.code ?? err.message}`)));
    pump(req);
  });
}

function h2(declared) {
  const headers = declared ? declaredHeaders : json;
  const kind = `h2 ${declared ? "declared" : "streamed"}`;
  return new Promise((resolve) => {
    const session = http2.connect(base);
    session.on("error", () => undefined);
    const s = session.request({ ":method": "POST", ":path": path, ...headers });
    let status = 0;
    let text = "";
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      if (status) count(`${kind} ${status} ${code(text)}`);
      else miss(`${kind} ${s.rstCode ?? "no answer"}`);
      session.destroy();
      resolve();
    };
    s.on("response", (h) => (status = Number(h[":status"])));
    s.on("data", (d) => (text += d));
    s.on("end", () => setImmediate(finish));
    s.on("close", finish);
    pump(s);
  });
}

const until = Date.now() + Number(ms);
await Promise.all(
  Array.from({ length: Number(lanes) }, async (_, lane) => {
    for (let i = lane; Date.now() < until; i++) await (i % 2 ? h2 : h1)(i % 4 < 2);
  }),
);
process.stdout.write(`${JSON.stringify({ answers, unanswered })}\n`);
