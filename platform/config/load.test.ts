import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, DEFAULT_CONFIG } from "./config.js";
import { loadConfig } from "./load.js";

const dir = mkdtempSync(join(tmpdir(), "orbit-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(content: unknown): string {
  const p = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(p, typeof content === "string" ? content : JSON.stringify(content));
  return p;
}

describe("loadConfig", () => {
  it("gives the defaults when nothing is set", () => {
    const r = loadConfig();
    expect(r.config).toEqual(DEFAULT_CONFIG);
    expect(new Set(Object.values(r.sources))).toEqual(new Set(["default"]));
  });

  it("applies file, then environment, then flags", () => {
    const f = file({ port: 1, host: "10.0.0.1", services: ["echo"], peers: { relay: "http://a:1/" } });
    const r = loadConfig({
      file: f,
      env: { ORBIT_PORT: "2", ORBIT_HOST: "10.0.0.2", ORBIT_PEERS: "relay=http://b:2" },
      flags: { port: "3" },
    });
    expect(r.config).toMatchObject({
      port: 3,
      host: "10.0.0.2",
      services: ["echo"],
      peers: { relay: "http://b:2" },
    });
    expect(r.sources).toMatchObject({ port: "flag", host: "env", services: "file", peers: "env", dataDir: "default" });
    expect(r.file).toBe(f);
  });

  it("reads the file named by ORBIT_CONFIG", () => {
    const f = file({ nodeId: 12 });
    expect(loadConfig({ env: { ORBIT_CONFIG: f } }).config.nodeId).toBe(12);
  });

  it("parses lists, repeated flags, key=value maps and booleans", () => {
    const r = loadConfig({
      env: { ORBIT_MIGRATE: "off", ORBIT_DEV_TOKENS: "a=1, b=2" },
      flags: {
        services: "echo, relay",
        peers: ["echo=http://h:1", "relay=https://h:2/base/"],
        allowDestructive: true,
      },
    });
    expect(r.config).toMatchObject({
      services: ["echo", "relay"],
      peers: { echo: "http://h:1", relay: "https://h:2/base" },
      migrate: false,
      allowDestructive: true,
      devTokens: { a: "1", b: "2" },
    });
    expect(loadConfig({ flags: { migrate: false } }).config.migrate).toBe(false);
  });

  it("names the source of a bad value", () => {
    expect(() => loadConfig({ flags: { port: "99999" } })).toThrow('--port: "99999" is not an integer in 0..65535');
    expect(() => loadConfig({ env: { ORBIT_NODE_ID: "1.5" } })).toThrow(
      'ORBIT_NODE_ID: "1.5" is not an integer in 0..1023',
    );
    expect(() => loadConfig({ env: { ORBIT_MIGRATE: "maybe" } })).toThrow("ORBIT_MIGRATE");
    expect(() => loadConfig({ env: { ORBIT_LOG_LEVEL: "loud" } })).toThrow(
      'ORBIT_LOG_LEVEL: "loud" is not one of fatal, error, warn, info, debug, trace, silent',
    );
    expect(() => loadConfig({ flags: { peers: ["echo"] } })).toThrow(
      '--peer: "echo" is not peer (expected name=value)',
    );
    expect(() => loadConfig({ flags: { peers: ["Echo=http://x"] } })).toThrow("is not a service name");
    expect(() => loadConfig({ flags: { mysql: "postgres://x/y" } })).toThrow("--mysql: expected a mysql://");
    expect(() => loadConfig({ flags: { cassandra: "cassandra://h" } })).toThrow("--cassandra: invalid Cassandra URL");
    expect(() => loadConfig({ flags: { mysql: "mysql://root:secret@h/db?pool=abc" } })).toThrow(
      '--mysql: store URL mysql://root:***@h/db?pool=abc: pool "abc" is not an integer in 1..1000',
    );
    expect(() => loadConfig({ env: { ORBIT_MYSQL: "mysql://h/db?timeout=5" } })).toThrow(
      'ORBIT_MYSQL: store URL mysql://h/db?timeout=5: unknown option "timeout" (accepted: pool)',
    );
    expect(() => loadConfig({ flags: { cassandra: "cassandra://h/ks?dc=" } })).toThrow(
      "--cassandra: store URL cassandra://h/ks?dc=: dc is empty",
    );
    expect(() => loadConfig({ file: file({ cassandra: "cassandra://h/ks?consistency=most" }) })).toThrow(
      /config file .*: cassandra: store URL cassandra:\/\/h\/ks\?consistency=most: consistency "most" is not one of/,
    );
    expect(() => loadConfig({ flags: { clusterSecret: "short" } })).toThrow("at least 16 characters");
    expect(() => loadConfig({ file: file({ port: "x" }) })).toThrow(/config file .*: port: "x" is not an integer/);
    expect(() => loadConfig({ flags: { services: "echo,Bad!" } })).toThrow(ConfigError);
  });

  it("rejects unreadable, malformed and unknown config files", () => {
    expect(() => loadConfig({ file: join(dir, "missing.json") })).toThrow("cannot read config file");
    expect(() => loadConfig({ file: file("{port: 1") })).toThrow("is not valid JSON");
    expect(() => loadConfig({ file: file([1]) })).toThrow("must hold a JSON object");
    expect(() => loadConfig({ file: file({ prot: 1 }) })).toThrow('unknown key "prot"');
  });

  it("warns about unknown ORBIT_* variables but not test ones", () => {
    const r = loadConfig({ env: { ORBIT_PROT: "1", ORBIT_TEST_MYSQL_URL: "x", HOME: "/" } });
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toContain("unknown environment variable ORBIT_PROT");
  });

  it("treats empty environment variables as unset", () => {
    expect(loadConfig({ env: { ORBIT_PORT: "" } }).config.port).toBe(DEFAULT_CONFIG.port);
  });
});
