/**
 * Operator endpoints (issue 12: `/metrics` was public on the service port): the service port
 * serves /healthz and /readyz always, /metrics only to a caller with `--metrics-token`; the admin
 * listener (`--admin-port`, loopback) serves /metrics, /healthz and /readyz.
 */
import { afterEach, describe, expect, it } from "vitest";
import { registry } from "../../services/registry.js";
import { sqliteStore, type TestStore } from "../../test/support/stores.js";
import { DEFAULT_CONFIG, type OrbitConfig } from "../config/config.js";
import { silentLogger } from "../log.js";
import { Bundle } from "./bundle.js";

let store: TestStore | undefined;
let bundle: Bundle | undefined;

async function start(extra: Partial<OrbitConfig>): Promise<Bundle> {
  store = sqliteStore();
  bundle = await Bundle.start({
    registry,
    config: { ...DEFAULT_CONFIG, services: ["testing"], host: "127.0.0.1", port: 0, ...extra },
    db: store.db,
    log: silentLogger(),
  });
  return bundle;
}

afterEach(async () => {
  await bundle?.stop();
  await store?.dispose();
  bundle = store = undefined;
});

describe("operator endpoints", () => {
  it("by default: /healthz and /readyz on the service port, /metrics nowhere", async () => {
    const b = await start({});
    expect(b.adminUrl).toBeUndefined();
    expect((await fetch(`${b.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${b.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${b.url}/metrics`)).status).toBe(404);
  });

  it("--admin-port: /metrics, /healthz and /readyz on a loopback admin listener, still not /metrics on the service port", async () => {
    const b = await start({ adminPort: 0 });
    expect(b.adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(b.adminUrl).not.toBe(b.url);
    const metrics = await fetch(`${b.adminUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain("orbit_rpc_server_handled_total");
    expect(await (await fetch(`${b.adminUrl}/healthz`)).json()).toEqual({ status: "ok" });
    const ready = await fetch(`${b.adminUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ready" });
    // Only the operator endpoints: no RPCs or service routes on the admin port.
    expect(
      (await fetch(`${b.adminUrl}/orbit.testing.v1.EchoService/Echo`, { method: "POST", body: "{}" })).status,
    ).toBe(404);
    expect((await fetch(`${b.url}/metrics`)).status).toBe(404);
    expect((await fetch(`${b.url}/healthz`)).status).toBe(200);
  });

  it("--metrics-token: /metrics on the service port only with the bearer token", async () => {
    const token = "metrics-token-0123456789";
    const b = await start({ metricsToken: token });
    const none = await fetch(`${b.url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toContain("Bearer");
    expect(
      (await fetch(`${b.url}/metrics`, { headers: { authorization: "Bearer wrong-token-0123456789" } })).status,
    ).toBe(401);
    expect((await fetch(`${b.url}/metrics`, { headers: { authorization: `Bearer ${token}x` } })).status).toBe(401);
    const ok = await fetch(`${b.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain("process_cpu_seconds_total");
  });

  it("closes the admin listener when the bundle stops", async () => {
    const b = await start({ adminPort: 0 });
    const adminUrl = b.adminUrl!;
    expect((await fetch(`${adminUrl}/healthz`)).status).toBe(200);
    await b.stop();
    bundle = undefined;
    await expect(fetch(`${adminUrl}/healthz`)).rejects.toThrow();
  });
});
