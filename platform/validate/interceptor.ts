/**
 * A Connect interceptor that checks every request message against the
 * validation rules declared in the proto, and answers InvalidArgument naming
 * the field(s) before the handler runs.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { Interceptor } from "@connectrpc/connect";
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

export function validationInterceptor(): Interceptor {
  return (next) => async (req) => {
    if (!req.stream) {
      assertValid(req.method.input, req.message);
      return next(req);
    }
    const input = req.message;
    const desc = req.method.input;
    async function* checked() {
      for await (const m of input) {
        assertValid(desc, m);
        yield m;
      }
    }
    return next({ ...req, message: checked() });
  };
}
