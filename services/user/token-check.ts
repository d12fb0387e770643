/**
 * The user service verifies the bundle's bearer tokens (the kernel's token
 * capability, platform/kernel/tokens.ts): with its sessions when it runs in
 * the bundle, and through its VerifyToken RPC, remembered for 5 s, when it
 * runs in another (`--peer user=URL`).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { UserService } from "../../gen/orbit/user/v1/user_pb.js";
import type { TokenCapability } from "../../platform/kernel/service.js";
import { sessionCacheFor } from "./session-cache.js";
import { remoteVerifier, sessionVerifier } from "./sessions.js";
import type { UserConfig } from "./settings.js";

export const userTokens: TokenCapability = {
  local: (ctx) => sessionVerifier(ctx.db, sessionCacheFor(ctx.events, (ctx.settings as UserConfig).sessionCacheMs)),
  remote: (client) => {
    const users = client(UserService);
    return remoteVerifier(async (token, signal) => {
      try {
        return await users.verifyToken({ token }, { signal });
      } catch (err) {
        if (ConnectError.from(err).code === Code.Unauthenticated) return undefined;
        throw err;
      }
    });
  },
};
