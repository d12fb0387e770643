/**
 * When a call's deadline passes before its handler commits, the caller gets
 * DEADLINE_EXCEEDED and the write never commits — on every protocol, for a
 * transaction and for a single write. A call that ends normally commits.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EchoService, NoteRequestSchema } from "../../gen/orbit/testing/v1/echo_pb.js";
import { EchoNoteRowDao, EchoNoteRowTable } from "../../gen/orbit/testing/v1/tables_db.js";
import { sqliteStore, type TestStore } from "../../test/support/stores.js";
import { envelope, grpcStatus, grpcWebTrailers, h1, h2 } from "../../test/support/wire.js";
import { DEFAULT_CONFIG } from "../config/config.js";
import { Bundle } from "../kernel/bundle.js";
import { Registry } from "../kernel/registry.js";
import { defineService } from "../kernel/service.js";
import { silentLogger } from "../log.js";

/** Each Note call waits for `release`, writes, and reports when its write has settled. */
let release: () => void = () => undefined;
let settled: Promise<unknown> = Promise.resolve();
const writer = defineService({
  name: "writer",
  tables: [EchoNoteRowTable],
  api: [EchoService],
  build: (ctx) => ({
    rpc: [
      {
        async note(req: { text: string }) {
          const id = ctx.ids.next();
          let done!: (outcome: unknown) => void;
          settled = new Promise((r) => (done = r));
          await new Promise<void>((r) => (release = r));
          const write =
            req.text === "single"
              ? new EchoNoteRowDao(ctx.db).insert({ id, text: req.text, createdAtMs: 1n })
              : ctx.db.transaction((tx) => new EchoNoteRowDao(tx).insert({ id, text: req.text, createdAtMs: 1n }));
          write.then(
            () => done("committed"),
            (e: unknown) => done(e),
          );
          await write;
          return { id };
        },
      } as unknown as ServiceImpl<typeof EchoService>,
    ],
  }),
});

let store: TestStore;
let bundle: Bundle;
let url: string;
beforeAll(async () => {
  store = sqliteStore();
  bundle = await Bundle.start({
    registry: new Registry([writer]),
    config: { ...DEFAULT_CONFIG, services: ["writer"], host: "127.0.0.1", port: 0 },
    db: store.db,
    log: silentLogger(),
  });
  url = bundle.url!;
});
afterAll(async () => {
  await bundle?.stop();
  await store?.dispose();
});

const NOTE = "/orbit.testing.v1.EchoService/Note";
const note = (text: string) => toBinary(NoteRequestSchema, create(NoteRequestSchema, { text }));
const count = async () =>
  Number((await store.db.get<{ n: number }>("SELECT COUNT(*) AS n FROM testing_echo_notes"))!.n);

/**
 * Sends the call and waits until its handler holds before writing; then lets it write — after the
 * answer has come (`late`), or before waiting for it. Returns the answer's code and what the write did.
 */
async function write(
  send: () => Promise<string | undefined>,
  late: boolean,
): Promise<{ code: string | undefined; write: unknown }> {
  const before = release;
  const answer = send();
  await expect.poll(() => release !== before).toBe(true);
  const code = late ? await answer : undefined;
  release();
  const outcome = await settled;
  return { code: late ? code : await answer, write: outcome };
}

const protocols: [string, (text: string, timeout?: boolean) => Promise<string | undefined>][] = [
  [
    "Connect JSON",
    async (text, timeout = true) =>
      JSON.parse(
        (
          await h1(url, {
            path: NOTE,
            headers: { "content-type": "application/json", ...(timeout ? { "connect-timeout-ms": "30" } : {}) },
            body: JSON.stringify({ text }),
          })
        ).body.toString(),
      ).code ?? "ok",
  ],
  [
    "Connect proto",
    async (text, timeout = true) => {
      const r = await h2(url, {
        path: NOTE,
        headers: { "content-type": "application/proto", ...(timeout ? { "connect-timeout-ms": "30" } : {}) },
        body: Buffer.from(note(text)),
      });
      return r.status === 200 ? "ok" : JSON.parse(r.body.toString()).code;
    },
  ],
  [
    "gRPC",
    async (text, timeout = true) =>
      grpcStatus(
        await h2(url, {
          path: NOTE,
          headers: {
            "content-type": "application/grpc",
            te: "trailers",
            ...(timeout ? { "grpc-timeout": "30m" } : {}),
          },
          body: envelope(note(text)),
        }),
      ).status,
  ],
  [
    "gRPC-Web",
    async (text, timeout = true) =>
      grpcWebTrailers(
        (
          await h1(url, {
            path: NOTE,
            headers: { "content-type": "application/grpc-web+proto", ...(timeout ? { "grpc-timeout": "30m" } : {}) },
            body: envelope(note(text)),
          })
        ).body,
      )["grpc-status"],
  ],
];

describe("writes after the deadline never commit", () => {
  it.each(protocols)("%s", async (_name, call) => {
    const before = await count();
    for (const text of ["in a transaction", "single"]) {
      const late = await write(() => call(text), true);
      expect(late.code).toMatch(/^(deadline_exceeded|4)$/);
      expect(late.write).toMatchObject({ code: 4 }); // DeadlineExceeded: rolled back / not sent
      expect(await count()).toBe(before);
    }
    // Without a deadline the same write commits.
    const onTime = await write(() => call("on time", false), false);
    expect(onTime.code).toMatch(/^(ok|0)$/);
    expect(onTime.write).toBe("committed");
    expect(await count()).toBe(before + 1);
  });
});
