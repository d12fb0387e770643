/**
 * Text hygiene through a real bundle (issue 12): look-alike handles are refused at SignUp and
 * reported taken by CheckHandle; NUL, bidi overrides and zero-width characters in display names
 * and posts answer invalid_argument; names are NFKC-normalised before they are stored.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBundle, type BundleProcess } from "../../test/support/bundle-process.js";
import { codeOf } from "../../test/support/social-scenario.js";
import { signUp, socialClients, type Member } from "../../test/support/social-client.js";

let b: BundleProcess;
let alice: Member;

beforeAll(async () => {
  b = await startBundle(["--services", "user,post"], { env: { ORBIT_SCRYPT_LOG_N: "10" } });
  alice = await signUp(b.url, "alice");
}, 120_000);

afterAll(async () => {
  await b?.stop();
});

async function errorOf(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("the call succeeded");
}

describe("look-alike handles", () => {
  it("refuses aIice (capital I) beside alice with already_exists and a clear message", async () => {
    const anon = socialClients(b.url);
    for (const handle of ["aIice", "a1ice", "ALice"]) {
      const err = await errorOf(anon.users.signUp({ handle, password: "correct horse battery" }));
      expect(err.code, handle).toBe(Code.AlreadyExists);
      expect(err.rawMessage, handle).toMatch(
        new RegExp(`handle "${handle}" is (taken|too much like the existing handle "alice")`),
      );
    }
    const err = await errorOf(anon.users.signUp({ handle: "aIice", password: "correct horse battery" }));
    expect(err.rawMessage).toBe(
      'handle "aIice" is too much like the existing handle "alice" (look-alike characters such as I/l/1 or 0/O count as one)',
    );
    expect((await anon.users.checkHandle({ handle: "aIice" })).available).toBe(false);
    expect((await anon.users.checkHandle({ handle: "alicia" })).available).toBe(true);
  });

  it("normalises a full-width handle (NFKC) before checking and storing it", async () => {
    const anon = socialClients(b.url);
    expect(await codeOf(anon.users.signUp({ handle: "ａｌｉｃｅ", password: "correct horse battery" }))).toBe(
      Code.AlreadyExists,
    );
    const r = await anon.users.signUp({ handle: "ｂｏｂ＿２", password: "correct horse battery" });
    expect(r.user?.handle).toBe("bob_2");
    expect((await anon.users.getProfile({ who: { case: "handle", value: "bob_2" } })).profile?.user?.id).toBe(
      r.user?.id,
    );
  });
});

describe("names and posts refuse invisible and control characters", () => {
  it("display names: NUL, U+202E and zero-width characters are invalid_argument", async () => {
    const anon = socialClients(b.url);
    const err = await errorOf(
      anon.users.signUp({ handle: "mallory", password: "correct horse battery", displayName: "admin\u202Eexe.gnp" }),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toBe(
      "invalid SignUpRequest: display_name must not contain U+202E (bidi embedding/override)",
    );
    for (const displayName of ["Ann\u0000", "Al\u200Bice", "Al\uFEFFice", "Al\u200Dice"]) {
      expect(await codeOf(alice.api.users.updateProfile({ displayName })), JSON.stringify(displayName)).toBe(
        Code.InvalidArgument,
      );
    }
    const me = await alice.api.users.updateProfile({ displayName: "Alice 👩‍💻", bio: "line one\nline two" });
    expect(me.user?.displayName).toBe("Alice 👩‍💻");
    expect(me.user?.bio).toBe("line one\nline two");
  });

  it("posts and comments: NUL and bidi overrides are invalid_argument, newlines and emoji sequences stay", async () => {
    for (const text of ["hello\u0000world", "open \u202Etxt.exe", "esc \u001B[2J"]) {
      expect(await codeOf(alice.api.posts.createPost({ text })), JSON.stringify(text)).toBe(Code.InvalidArgument);
    }
    const post = await alice.api.posts.createPost({ text: "first line\r\nsecond 👨‍👩‍👧" });
    expect(post.post?.text).toBe("first line\nsecond 👨‍👩‍👧");
    expect(await codeOf(alice.api.posts.addComment({ postId: post.post!.id, text: "nul\u0000" }))).toBe(
      Code.InvalidArgument,
    );
  });
});
