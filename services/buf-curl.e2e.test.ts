/**
 * Smoke test with a foreign client: `buf curl` (Connect protocol, JSON, the
 * schema compiled from the public API, proto/api) signs up and creates a post against a running
 * `orbit bundle --services=social`.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBundle, type BundleProcess } from "../test/support/bundle-process.js";

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, "..");
const BUF = join(ROOT, "node_modules", ".bin", "buf");

/** The JSON answer of buf curl, or the Connect error it printed. */
async function bufCurl(
  url: string,
  body: unknown,
  headers: string[] = [],
): Promise<{ ok: true; out: any } | { ok: false; err: any }> {
  const args = [
    "curl",
    "--schema",
    "proto/api",
    "--protocol",
    "connect",
    "--http2-prior-knowledge",
    "-d",
    JSON.stringify(body),
  ];
  for (const h of headers) args.push("-H", h);
  args.push(url);
  try {
    const { stdout } = await run(BUF, args, { cwd: ROOT });
    return { ok: true, out: JSON.parse(stdout) };
  } catch (err) {
    return { ok: false, err: JSON.parse((err as { stderr: string }).stderr) };
  }
}

describe("buf curl against the social services", () => {
  let b: BundleProcess;
  beforeAll(async () => {
    b = await startBundle(["--services", "social"], { env: { ORBIT_SCRYPT_LOG_N: "12" } });
  }, 60_000);
  afterAll(async () => {
    await b?.stop();
  });

  it("signs up and creates a post", async () => {
    const signUp = await bufCurl(`${b.url}/orbit.user.v1.UserService/SignUp`, {
      handle: "curl_user",
      password: "a long enough password",
      displayName: "Curl",
    });
    expect(signUp.ok).toBe(true);
    if (!signUp.ok) return;
    expect(signUp.out.user).toMatchObject({ handle: "curl_user", displayName: "Curl" });
    expect(signUp.out.token).toMatch(/^orb_/);
    const userId = signUp.out.user.id as string; // int64 is a string in JSON

    const post = await bufCurl(
      `${b.url}/orbit.post.v1.PostService/CreatePost`,
      { text: "hello from buf curl #smoke @curl_user" },
      [`Authorization: Bearer ${signUp.out.token}`],
    );
    expect(post.ok).toBe(true);
    if (!post.ok) return;
    expect(post.out.post).toMatchObject({
      authorId: userId,
      text: "hello from buf curl #smoke @curl_user",
      hashtags: ["smoke"],
      mentionUserIds: [userId],
    });
  });

  it("gets the Connect error codes a client must handle", async () => {
    const anonymous = await bufCurl(`${b.url}/orbit.post.v1.PostService/CreatePost`, { text: "who am I?" });
    expect(anonymous).toMatchObject({ ok: false, err: { code: "unauthenticated" } });
    const invalid = await bufCurl(`${b.url}/orbit.user.v1.UserService/SignUp`, { handle: "x", password: "short" });
    expect(invalid).toMatchObject({ ok: false, err: { code: "invalid_argument" } });
    expect(invalid.ok ? "" : invalid.err.message).toContain("handle");
    const taken = await bufCurl(`${b.url}/orbit.user.v1.UserService/SignUp`, {
      handle: "CURL_USER",
      password: "a long enough password",
    });
    expect(taken).toMatchObject({ ok: false, err: { code: "already_exists" } });
  });
});
