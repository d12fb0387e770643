import { createContextKey } from "@connectrpc/connect";
import type { CallScope } from "./call-scope.js";

/** The CallScope of a served call, as a Connect context value (see callScope()). */
export const callScopeKey = createContextKey<CallScope | undefined>(undefined, {
  description: "orbit: call scope",
});
