/**
 * Chat tests' helpers: a bundle running chat (and the user service it
 * needs) on a given store, users signed up over the network, and their
 * Connect clients.
 */
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { ChatService } from "../../gen/orbit/chat/v1/chat_pb.js";
import { UserService } from "../../gen/orbit/user/v1/user_pb.js";
import { DEFAULT_CONFIG } from "../../platform/config/config.js";
import { Bundle } from "../../platform/kernel/bundle.js";
import { silentLogger } from "../../platform/log.js";
import type { SqlDb } from "../../platform/storage/driver.js";
import { registry } from "../../services/registry.js";

export interface ChatUser {
  id: bigint;
  token: string;
  chat: Client<typeof ChatService>;
  users: Client<typeof UserService>;
}

export function startChatBundle(
  db: SqlDb,
  chat: Record<string, unknown> = {},
  extra: Partial<typeof DEFAULT_CONFIG> = {},
) {
  return Bundle.start({
    registry,
    config: {
      ...DEFAULT_CONFIG,
      services: ["chat"],
      host: "127.0.0.1",
      port: 0,
      settings: { user: { scryptLogN: 10 }, chat },
      ...extra,
    },
    db,
    log: silentLogger(),
  });
}

function transport(baseUrl: string, token?: string) {
  return createConnectTransport({
    baseUrl,
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
}

export function anonymousChat(baseUrl: string): Client<typeof ChatService> {
  return createClient(ChatService, transport(baseUrl));
}

export async function chatUser(baseUrl: string, handle: string): Promise<ChatUser> {
  const anon = createClient(UserService, transport(baseUrl));
  const r = await anon.signUp({ handle, password: `pw-${handle}-secret`, displayName: handle });
  return {
    id: r.user!.id,
    token: r.token,
    chat: createClient(ChatService, transport(baseUrl, r.token)),
    users: createClient(UserService, transport(baseUrl, r.token)),
  };
}

/** The same user's clients on another bundle (another node on the same store). */
export function chatUserOn(baseUrl: string, u: ChatUser): ChatUser {
  return {
    ...u,
    chat: createClient(ChatService, transport(baseUrl, u.token)),
    users: createClient(UserService, transport(baseUrl, u.token)),
  };
}

/** Users signed up a few at a time (the machine is shared). */
export async function chatUsers(baseUrl: string, prefix: string, n: number): Promise<ChatUser[]> {
  const out: ChatUser[] = [];
  for (let i = 0; i < n; i += 8) {
    const batch = Array.from({ length: Math.min(8, n - i) }, (_, k) => chatUser(baseUrl, `${prefix}${i + k}`));
    out.push(...(await Promise.all(batch)));
  }
  return out;
}
