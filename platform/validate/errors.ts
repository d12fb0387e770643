/**
 * The InvalidArgument error for a request message that breaks the validation
 * rules declared in its proto (compile.ts). The kernel checks every request
 * with it before the handler runs (platform/rpc/instrument.ts), on every
 * protocol and for in-process calls.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { DescMessage, Message } from "@bufbuild/protobuf";
import { violations } from "./compile.js";

export function invalidArgument(desc: DescMessage, message: Message): ConnectError | undefined {
  const v = violations(desc, message);
  if (v.length === 0) return undefined;
  const text = v.map((x) => `${x.field} ${x.message}`).join("; ");
  return new ConnectError(`invalid ${desc.name}: ${text}`, Code.InvalidArgument);
}

/** Throws InvalidArgument if `message` breaks a rule of its type. */
export function assertValid(desc: DescMessage, message: Message): void {
  const err = invalidArgument(desc, message);
  if (err) throw err;
}
