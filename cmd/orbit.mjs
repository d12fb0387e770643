#!/usr/bin/env node
// The `orbit` command (`npx orbit …`, `npm start`): registers tsx so the
// TypeScript sources run as they are, then hands over to cmd/main.ts.
import { register } from "tsx/esm/api";

register();
await import("./main.ts");
