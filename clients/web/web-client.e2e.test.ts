/**
 * The web client setup (clients/web/buf.gen.yaml: protoc-gen-es over
 * proto/api) generates TypeScript that connect-web — the transport a browser
 * app uses — calls a bundle with, over the Connect protocol (JSON and binary)
 * and gRPC-Web.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBundle, type BundleProcess } from "../../test/support/bundle-process.js";

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, "..", "..");
const GEN = join(ROOT, "clients", "web", "src", "gen");

let bundle: BundleProcess;
// The generated modules, imported once generated (not committed, so not imported statically).
let user: typeof import("../../gen/orbit/user/v1/user_pb.js");
let post: typeof import("../../gen/orbit/post/v1/post_pb.js");

beforeAll(async () => {
  await run(join(ROOT, "node_modules", ".bin", "buf"), ["generate", "--template", "clients/web/buf.gen.yaml"], {
    cwd: ROOT,
  });
  user = await import(join(GEN, "orbit", "user", "v1", "user_pb.ts"));
  post = await import(join(GEN, "orbit", "post", "v1", "post_pb.ts"));
  bundle = await startBundle(["--services", "social", "--scrypt-log-n", "10"]);
}, 60_000);
afterAll(async () => {
  await bundle?.stop();
});

describe("generated TypeScript with connect-web", () => {
  const transports: [string, () => Transport][] = [
    ["Connect JSON", () => createConnectTransport({ baseUrl: bundle.url })],
    ["Connect binary", () => createConnectTransport({ baseUrl: bundle.url, useBinaryFormat: true })],
    ["gRPC-Web", () => createGrpcWebTransport({ baseUrl: bundle.url })],
  ];

  it.each(transports)("signs up, posts and sees errors over %s", async (name, transport) => {
    const handle = `web_${name.replace(/\W/g, "").toLowerCase()}`;
    const users = createClient(user.UserService, transport());
    const { token, user: me } = await users.signUp({ handle, password: "correct horse" });
    expect(me?.handle).toBe(handle);
    const headers = { authorization: `Bearer ${token}` };
    const posts = createClient(post.PostService, transport());
    const created = await posts.createPost({ text: `hello from ${name}` }, { headers });
    expect(created.post?.authorId).toBe(me?.id);
    const err = await posts.createPost({ text: "x".repeat(2001) }, { headers }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect((err as ConnectError).rawMessage).toContain("text");
    await expect(users.getMe({})).rejects.toMatchObject({ code: Code.Unauthenticated });
  });
});
