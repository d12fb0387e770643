/**
 * Connect clients of the social services for end-to-end tests, and helpers
 * to sign up users and wait for projections (feeds and counts are built from
 * events, so they settle a few milliseconds after the write).
 */
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { FeedService } from "../../gen/orbit/feed/v1/feed_pb.js";
import { GraphService } from "../../gen/orbit/graph/v1/graph_pb.js";
import { PostService } from "../../gen/orbit/post/v1/post_pb.js";
import { UserService, type User } from "../../gen/orbit/user/v1/user_pb.js";
import { lagByGroup } from "../../platform/events/lag.js";
import type { SqlDb } from "../../platform/storage/driver.js";

export interface Social {
  users: Client<typeof UserService>;
  graph: Client<typeof GraphService>;
  posts: Client<typeof PostService>;
  feed: Client<typeof FeedService>;
}

/** Clients for one signed-in (or anonymous) caller, all through `baseUrl`. */
export function socialClients(
  baseUrl: string,
  token?: string,
  urls: Partial<Record<keyof Social, string>> = {},
): Social {
  const t = (url: string) =>
    createConnectTransport({
      baseUrl: url,
      httpVersion: "2",
      interceptors: token
        ? [
            (next) => (req) => {
              req.header.set("authorization", `Bearer ${token}`);
              return next(req);
            },
          ]
        : [],
    });
  return {
    users: createClient(UserService, t(urls.users ?? baseUrl)),
    graph: createClient(GraphService, t(urls.graph ?? baseUrl)),
    posts: createClient(PostService, t(urls.posts ?? baseUrl)),
    feed: createClient(FeedService, t(urls.feed ?? baseUrl)),
  };
}

export interface Member {
  user: User;
  token: string;
  api: Social;
}

export async function signUp(
  baseUrl: string,
  handle: string,
  urls: Partial<Record<keyof Social, string>> = {},
): Promise<Member> {
  const anon = socialClients(baseUrl, undefined, urls);
  const r = await anon.users.signUp({ handle, password: `pw-${handle}-secret`, displayName: handle.toUpperCase() });
  return { user: r.user!, token: r.token, api: socialClients(baseUrl, r.token, urls) };
}

/** Polls `probe` until it returns true (projections are eventually consistent). */
export async function eventually(probe: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A member's whole home feed (post ids, newest first), read in pages of `pageSize`. */
export async function homeFeedOf(m: Member, pageSize = 4): Promise<bigint[]> {
  const ids: bigint[] = [];
  let token = "";
  do {
    const page = await m.api.feed.getHomeFeed({ pageSize, pageToken: token });
    ids.push(...page.posts.map((p) => p.id));
    token = page.nextPageToken;
  } while (token);
  return ids;
}

/**
 * Waits until every event consumer of the bundle's store has handled
 * everything in the log; throws if any parked an event as a dead letter.
 */
export async function consumersSettled(db: SqlDb, timeoutMs = 10_000): Promise<void> {
  await eventually(
    async () => (await lagByGroup(db)).every((g) => g.pending === 0 && !g.retrying),
    "consumers caught up",
    timeoutMs,
  );
  const dead = (await lagByGroup(db)).filter((g) => g.deadLetters > 0);
  if (dead.length) throw new Error(`dead letters: ${dead.map((g) => `${g.group} ${g.deadLetters}`).join(", ")}`);
}
