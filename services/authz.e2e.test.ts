/**
 * Authorization matrix of the social services, over the network against a
 * real bundle: every method of UserService, GraphService, PostService and
 * FeedService (taken from the generated descriptors, so a new method without
 * a row here fails the test) is called with no token, with bad tokens, on
 * another user's object and on a missing object, and must answer the exact
 * Connect code. Methods only for services are refused to outside callers and
 * accepted with an identity signed with the cluster secret.
 */
import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type CallOptions } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FeedService } from "../gen/orbit/feed/v1/feed_pb.js";
import { GraphService } from "../gen/orbit/graph/v1/graph_pb.js";
import { PostService } from "../gen/orbit/post/v1/post_pb.js";
import { UserService } from "../gen/orbit/user/v1/user_pb.js";
import { ClusterSigner, IDENTITY_HEADER } from "../platform/rpc/cluster-signer.js";
import { startBundle, type BundleProcess } from "../test/support/bundle-process.js";
import { signUp, socialClients, type Member } from "../test/support/social-client.js";

const SECRET = "authz-matrix-cluster-secret";
const MISSING = 4_242_424_242n;

/** Objects the matrix works on: ann owns them, bob is the other user. */
interface Fixture {
  readonly ann: Member;
  readonly bob: Member;
  readonly post: bigint;
  readonly comment: bigint;
  readonly annSession: bigint;
}

type Outcome = Code | "ok";
type Req = (f: Fixture) => Record<string, unknown>;

interface Row {
  /** user: needs a signed-in user · public: anyone · service: only services of the deployment. */
  readonly access: "user" | "public" | "service";
  /** A valid request (on ann's objects where there are any). */
  readonly req: Req;
  /** Bob's request on ann's object, and what he gets. */
  readonly others?: readonly [Req, Outcome];
  /** A request on a missing object (made by ann), and what it gets. */
  readonly missing?: readonly [Req, Outcome];
}

let handles = 0;
const none: Req = () => ({});

const MATRIX: Record<string, Record<string, Row>> = {
  [UserService.typeName]: {
    SignUp: { access: "public", req: () => ({ handle: `newcomer_${handles++}`, password: "a long enough password" }) },
    LogIn: {
      access: "public",
      req: () => ({ handle: "ann", password: "pw-ann-secret" }),
      // An unknown handle is not told apart from a wrong password.
      missing: [() => ({ handle: "nobody_here", password: "whatever-pw" }), Code.Unauthenticated],
    },
    LogOut: { access: "user", req: none },
    GetMe: { access: "user", req: none },
    GetProfile: {
      access: "public",
      req: (f) => ({ who: { case: "userId", value: f.ann.user.id } }),
      missing: [() => ({ who: { case: "userId", value: MISSING } }), Code.NotFound],
    },
    UpdateProfile: { access: "user", req: () => ({ bio: "hello" }) },
    CheckHandle: { access: "public", req: () => ({ handle: "ann" }) },
    Block: {
      access: "user",
      req: (f) => ({ userId: f.bob.user.id }),
      missing: [() => ({ userId: MISSING }), Code.NotFound],
    },
    Unblock: { access: "user", req: (f) => ({ userId: f.bob.user.id }), missing: [() => ({ userId: MISSING }), "ok"] },
    ListBlocked: { access: "user", req: none },
    ListSessions: { access: "user", req: none },
    RevokeSession: {
      access: "user",
      req: (f) => ({ sessionId: f.annSession }),
      // Another user's session is as good as missing: its existence is not revealed.
      others: [(f) => ({ sessionId: f.annSession }), Code.NotFound],
      missing: [() => ({ sessionId: MISSING }), Code.NotFound],
    },
    // Public: the same fields GetProfile shows anyone.
    GetUsers: { access: "public", req: (f) => ({ userIds: [f.ann.user.id], handles: ["bob"] }) },
    // Blocks are private: only services may ask about any pair of users.
    CheckBlock: { access: "service", req: (f) => ({ userA: f.ann.user.id, userB: f.bob.user.id }) },
    CheckBlocks: {
      access: "service",
      req: (f) => ({ pairs: [{ userA: f.ann.user.id, userB: f.bob.user.id }] }),
    },
    FilterBlocked: { access: "service", req: (f) => ({ userId: f.ann.user.id, otherUserIds: [f.bob.user.id] }) },
    // Public: the caller must hold the token already, and learns only what GetMe would tell.
    VerifyToken: {
      access: "public",
      req: (f) => ({ token: f.bob.token }),
      missing: [() => ({ token: `orb_${"A".repeat(43)}` }), Code.Unauthenticated],
    },
  },
  [GraphService.typeName]: {
    Follow: {
      access: "user",
      req: (f) => ({ userId: f.bob.user.id }),
      missing: [() => ({ userId: MISSING }), Code.NotFound],
    },
    Unfollow: { access: "user", req: (f) => ({ userId: f.bob.user.id }), missing: [() => ({ userId: MISSING }), "ok"] },
    ListFollowers: {
      access: "public",
      req: (f) => ({ userId: f.ann.user.id }),
      missing: [() => ({ userId: MISSING }), Code.NotFound],
    },
    ListFollowing: {
      access: "public",
      req: (f) => ({ userId: f.ann.user.id }),
      missing: [() => ({ userId: MISSING }), Code.NotFound],
    },
    GetRelationship: {
      access: "user",
      req: (f) => ({ userId: f.bob.user.id }),
      missing: [() => ({ userId: MISSING }), Code.NotFound],
    },
    // Public: the same ids ListFollowers/ListFollowing show, in bigger pages (an unknown user has none).
    ListFollowerIds: {
      access: "public",
      req: (f) => ({ userId: f.ann.user.id }),
      missing: [() => ({ userId: MISSING }), "ok"],
    },
    ListFollowingIds: {
      access: "public",
      req: (f) => ({ userId: f.ann.user.id }),
      missing: [() => ({ userId: MISSING }), "ok"],
    },
    // Public: the counts GetProfile shows.
    GetFollowCounts: { access: "public", req: (f) => ({ userIds: [f.ann.user.id] }) },
  },
  [PostService.typeName]: {
    CreatePost: { access: "user", req: () => ({ text: "matrix post" }) },
    EditPost: {
      access: "user",
      req: (f) => ({ postId: f.post, text: "edited by ann" }),
      others: [(f) => ({ postId: f.post, text: "hacked" }), Code.PermissionDenied],
      missing: [() => ({ postId: MISSING, text: "x" }), Code.NotFound],
    },
    DeletePost: {
      access: "user",
      req: (f) => ({ postId: f.post }),
      others: [(f) => ({ postId: f.post }), Code.PermissionDenied],
      missing: [() => ({ postId: MISSING }), Code.NotFound],
    },
    GetPost: {
      access: "public",
      req: (f) => ({ postId: f.post }),
      missing: [() => ({ postId: MISSING }), Code.NotFound],
    },
    // Public; viewer_id is honoured only for services (see the test below).
    BatchGetPosts: {
      access: "public",
      req: (f) => ({ postIds: [f.post] }),
      missing: [() => ({ postIds: [MISSING] }), "ok"],
    },
    // Comments by id, hidden ones included: for moderation's reports only.
    GetComments: {
      access: "service",
      req: (f) => ({ commentIds: [f.comment] }),
    },
    ListUserPosts: {
      access: "public",
      req: (f) => ({ userId: f.ann.user.id }),
      missing: [() => ({ userId: MISSING }), Code.NotFound],
    },
    LikePost: {
      access: "user",
      req: (f) => ({ postId: f.post }),
      missing: [() => ({ postId: MISSING }), Code.NotFound],
    },
    UnlikePost: {
      access: "user",
      req: (f) => ({ postId: f.post }),
      missing: [() => ({ postId: MISSING }), Code.NotFound],
    },
    ListLikes: {
      access: "public",
      req: (f) => ({ postId: f.post }),
      missing: [() => ({ postId: MISSING }), Code.NotFound],
    },
    AddComment: {
      access: "user",
      req: (f) => ({ postId: f.post, text: "a comment" }),
      missing: [() => ({ postId: MISSING, text: "x" }), Code.NotFound],
    },
    EditComment: {
      access: "user",
      req: (f) => ({ commentId: f.comment, text: "edited" }),
      others: [(f) => ({ commentId: f.comment, text: "hacked" }), Code.PermissionDenied],
      missing: [() => ({ commentId: MISSING, text: "x" }), Code.NotFound],
    },
    DeleteComment: {
      access: "user",
      req: (f) => ({ commentId: f.comment }),
      others: [(f) => ({ commentId: f.comment }), Code.PermissionDenied],
      missing: [() => ({ commentId: MISSING }), Code.NotFound],
    },
    ListComments: {
      access: "public",
      req: (f) => ({ postId: f.post }),
      missing: [() => ({ postId: MISSING }), Code.NotFound],
    },
  },
  [FeedService.typeName]: {
    GetHomeFeed: { access: "user", req: none },
  },
};

const SERVICES: readonly DescService[] = [UserService, GraphService, PostService, FeedService];

type AnyClient = Record<string, (req: unknown, opts?: CallOptions) => Promise<unknown>>;

describe("authorization matrix of the social services", () => {
  let b: BundleProcess;
  let f: Fixture;
  const clients = new Map<DescService, AnyClient>();

  beforeAll(async () => {
    b = await startBundle(["--services", "social"], {
      env: { ORBIT_SCRYPT_LOG_N: "12", ORBIT_CLUSTER_SECRET: SECRET },
    });
    const transport = createConnectTransport({ baseUrl: b.url, httpVersion: "2" });
    for (const s of SERVICES) clients.set(s, createClient(s, transport) as unknown as AnyClient);
    const [ann, bob] = await Promise.all([signUp(b.url, "ann"), signUp(b.url, "bob")]);
    const post = (await ann.api.posts.createPost({ text: "ann's post" })).post!.id;
    const comment = (await ann.api.posts.addComment({ postId: post, text: "ann's comment" })).comment!.id;
    const annSession = (await ann.api.users.listSessions({})).sessions.find((s) => s.current)!.id;
    f = { ann, bob, post, comment, annSession };
  }, 60_000);
  afterAll(async () => {
    await b?.stop();
  });

  async function call(
    s: DescService,
    method: string,
    req: Record<string, unknown>,
    headers: Record<string, string> = {},
  ): Promise<Outcome> {
    const m = s.methods.find((x) => x.name === method)!;
    try {
      await clients.get(s)![m.localName]!(req, { headers });
      return "ok";
    } catch (err) {
      return ConnectError.from(err).code;
    }
  }
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const signed = (s: DescService, method: string, userId?: bigint) => ({
    [IDENTITY_HEADER]: new ClusterSigner(SECRET).sign(
      userId === undefined ? undefined : { userId: String(userId) },
      `/${s.typeName}/${method}`,
    ),
  });

  it("has a row for every method of the four services, and no other", () => {
    for (const s of SERVICES) {
      expect(Object.keys(MATRIX[s.typeName] ?? {}).sort(), s.typeName).toEqual(s.methods.map((m) => m.name).sort());
    }
  });

  for (const s of SERVICES) {
    for (const m of s.methods) {
      const row = MATRIX[s.typeName]?.[m.name];
      it(`${s.name}.${m.name}`, async () => {
        expect(row, `no row for ${s.typeName}/${m.name} in the matrix`).toBeDefined();
        const { access, req, others, missing } = row!;
        const want: string[] = [];
        const got: string[] = [];
        const name = (o: Outcome) => (o === "ok" ? "ok" : Code[o]);
        const check = async (what: string, expected: Outcome, outcome: Promise<Outcome>) => {
          want.push(`${what}: ${name(expected)}`);
          got.push(`${what}: ${name(await outcome)}`);
        };

        // Anonymous.
        const anonymous =
          access === "user" ? Code.Unauthenticated : access === "service" ? Code.PermissionDenied : "ok";
        await check("without a token", anonymous, call(s, m.name, req(f)));
        // Bad credentials are refused before any method runs, public ones included.
        await check(
          "with an unknown token",
          Code.Unauthenticated,
          call(s, m.name, req(f), bearer(`orb_${"x".repeat(43)}`)),
        );
        await check("with a malformed token", Code.Unauthenticated, call(s, m.name, req(f), bearer("not a token")));
        await check(
          "with another scheme",
          Code.Unauthenticated,
          call(s, m.name, req(f), { authorization: "Basic YW5uOnB3" }),
        );
        await check(
          "with a forged identity header",
          Code.Unauthenticated,
          call(s, m.name, req(f), { [IDENTITY_HEADER]: "v1.e30.AAAA" }),
        );
        await check(
          "with an identity signed with another secret",
          Code.Unauthenticated,
          call(s, m.name, req(f), {
            [IDENTITY_HEADER]: new ClusterSigner("not-the-cluster-secret").sign(undefined, `/${s.typeName}/${m.name}`),
          }),
        );
        if (access === "service") {
          // A signed-in user is still not a service…
          await check("with a user's token", Code.PermissionDenied, call(s, m.name, req(f), bearer(f.ann.token)));
          // …while a service of the deployment (cluster-signed identity, with or without a user) is let through.
          await check("signed for no user", "ok", call(s, m.name, req(f), signed(s, m.name)));
          await check("signed for a user", "ok", call(s, m.name, req(f), signed(s, m.name, f.bob.user.id)));
        }
        if (others)
          await check("on another user's object", others[1], call(s, m.name, others[0](f), bearer(f.bob.token)));
        if (missing)
          await check("on a missing object", missing[1], call(s, m.name, missing[0](f), bearer(f.ann.token)));
        expect(got).toEqual(want);
      });
    }
  }

  it("lets the owner do what others may not, and the post's author delete others' comments", async () => {
    const { ann, bob } = f;
    const post = (await ann.api.posts.createPost({ text: "owner test" })).post!.id;
    const byBob = (await bob.api.posts.addComment({ postId: post, text: "bob's" })).comment!.id;
    const byAnn = (await ann.api.posts.addComment({ postId: post, text: "ann's" })).comment!.id;
    const P = PostService;
    expect(await call(P, "EditComment", { commentId: byBob, text: "ann edits" }, bearer(ann.token))).toBe(
      Code.PermissionDenied,
    );
    expect(await call(P, "EditComment", { commentId: byAnn, text: "ann edits" }, bearer(ann.token))).toBe("ok");
    expect(await call(P, "DeleteComment", { commentId: byBob }, bearer(ann.token))).toBe("ok");
    expect(await call(P, "DeleteComment", { commentId: byAnn }, bearer(bob.token))).toBe(Code.PermissionDenied);
    expect(await call(P, "EditPost", { postId: post, text: "mine" }, bearer(ann.token))).toBe("ok");
    expect(await call(P, "DeletePost", { postId: post }, bearer(ann.token))).toBe("ok");
    expect(await call(P, "GetPost", { postId: post }, bearer(bob.token))).toBe(Code.NotFound);
  });

  it("a logged-out token is refused everywhere, public methods included", async () => {
    const login = await socialClients(b.url).users.logIn({ handle: "bob", password: "pw-bob-secret" });
    expect(await call(UserService, "LogOut", {}, bearer(login.token))).toBe("ok");
    for (const [s, method, req] of [
      [UserService, "GetMe", {}],
      [UserService, "CheckHandle", { handle: "bob" }],
      [PostService, "GetPost", { postId: f.post }],
      [FeedService, "GetHomeFeed", {}],
    ] as const) {
      expect(await call(s, method, req, bearer(login.token)), method).toBe(Code.Unauthenticated);
    }
  });

  it("honours BatchGetPosts' viewer_id only for services", async () => {
    const post = (await f.ann.api.posts.createPost({ text: "liked by bob" })).post!.id;
    await f.bob.api.posts.likePost({ postId: post });
    const likedFor = async (headers: Record<string, string>) => {
      const r = (await clients.get(PostService)!.batchGetPosts!(
        { postIds: [post], viewerId: f.bob.user.id },
        { headers },
      )) as {
        posts: { likedByMe: boolean }[];
      };
      return r.posts[0]?.likedByMe;
    };
    // From an outside client it is ignored: the answer is for the caller (anonymous, or ann).
    expect(await likedFor({})).toBe(false);
    expect(await likedFor(bearer(f.ann.token))).toBe(false);
    // A service (signed with the cluster secret) hydrates for the viewer it names.
    expect(await likedFor(signed(PostService, "BatchGetPosts"))).toBe(true);
  });
});
