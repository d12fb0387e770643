/**
 * The watch page end to end (SQLite): a test stream published by ffmpeg over
 * RTMP, a room on it, and two headless Chromiums (Debian's /usr/bin/chromium
 * driven by playwright-core, each with a fresh profile) on /watch/<room>:
 * both play; after the host seeks (its page's button), both players stay
 * within 500 ms of each other; a chat message sent in one page appears in the
 * other. Every wait is on a condition.
 *
 * ORBIT_WATCH_SCREENSHOT=docs/images/watch.png also saves a screenshot of the
 * host's page (how the one in docs/live.md was made).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LiveService, StreamState } from "../../gen/orbit/live/v1/live_pb.js";
import { RoomService } from "../../gen/orbit/live/v1/room_pb.js";
import { DEFAULT_CONFIG } from "../../platform/config/config.js";
import type { FfmpegProcess } from "../../platform/ffmpeg/process.js";
import { Bundle } from "../../platform/kernel/bundle.js";
import { silentLogger } from "../../platform/log.js";
import { staticTokens } from "../../platform/rpc/identity.js";
import { sqliteStore, type TestStore } from "../../test/support/stores.js";
import { registry } from "../registry.js";
import { startPublisher } from "./testing/publisher.js";
import { waitForValue as waitFor } from "../../test/support/wait.js";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--autoplay-policy=no-user-gesture-required",
];

interface Position {
  readonly atMs: number;
  readonly playerMs: number | undefined;
  readonly roomMs: number;
  readonly playing: boolean;
  readonly seq: number | undefined;
}

const positionOf = (p: Page) =>
  p.evaluate(() => (window as unknown as { orbitWatch: { position(): Position } }).orbitWatch.position());

/** |A − B| at one instant: B's position moved to A's sampling time (both play at ×1). */
async function gap(a: Page, b: Page): Promise<{ gapMs: number; a: Position; b: Position } | undefined> {
  const [pa, pb] = await Promise.all([positionOf(a), positionOf(b)]);
  if (pa.playerMs === undefined || pb.playerMs === undefined || !pa.playing || !pb.playing) return undefined;
  return { gapMs: Math.abs(pa.playerMs - (pb.playerMs - (pb.atMs - pa.atMs))), a: pa, b: pb };
}

describe("the watch page in two Chromiums", () => {
  let store: TestStore;
  let bundle: Bundle;
  let dir: string;
  let publisher: FfmpegProcess | undefined;
  const browsers: BrowserContext[] = [];

  beforeAll(async () => {
    store = sqliteStore();
    dir = await mkdtemp(join(tmpdir(), "watch-e2e-"));
    bundle = await Bundle.start({
      registry,
      config: {
        ...DEFAULT_CONFIG,
        services: ["live", "push"],
        host: "127.0.0.1",
        port: 0,
        settings: { live: { rtmpPort: 0, hlsDir: join(dir, "hls"), record: false } },
      },
      tokenVerifier: staticTokens({ ann: "1", bob: "2" }),
      db: store.db,
      log: silentLogger(),
    });
  });

  afterAll(async () => {
    for (const b of browsers) await b.close().catch(() => undefined);
    publisher?.killNow();
    await publisher?.exited;
    await bundle?.stop();
    await store?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  const open = async (name: string, url: string): Promise<Page> => {
    const ctx = await chromium.launchPersistentContext(join(dir, `profile-${name}`), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1100, height: 620 },
    });
    browsers.push(ctx);
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    await page.goto(url);
    return page;
  };

  it("serves the page for a room id, its script, and 404 for anything else", async () => {
    const page = await fetch(`${bundle.url}/watch/123`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(page.headers.get("content-security-policy")).toContain("default-src 'self'");
    expect(await page.text()).toContain('src="/watch/app.js"');
    const script = await fetch(`${bundle.url}/watch/app.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect((await script.text()).length).toBeGreaterThan(10_000);
    for (const bad of ["/watch/abc", "/watch/1/2", "/watch/..%2fetc", "/watch/"])
      expect((await fetch(`${bundle.url}${bad}`)).status, bad).toBe(404);
  });

  it("plays a stream in sync in two browsers, follows the host's seek, and carries the room chat", async () => {
    const transport = (token: string) =>
      createConnectTransport({
        baseUrl: bundle.url!,
        httpVersion: "1.1",
        interceptors: [
          (next) => (req) => {
            req.header.set("authorization", `Bearer ${token}`);
            return next(req);
          },
        ],
      });
    const live = createClient(LiveService, transport("ann"));
    const rooms = createClient(RoomService, transport("ann"));

    const created = await live.createStream({ title: "Episode 12 watch party" });
    publisher = startPublisher({ url: `${created.ingestUrl}/${created.streamKey}`, seconds: 90 });
    await waitFor(
      async () => (await live.getStream({ streamId: created.stream!.id })).stream!.state === StreamState.LIVE,
      "the stream is live",
    );
    const { room } = await rooms.createRoom({ source: { case: "streamId", value: created.stream!.id } });
    const url = (token: string) => `${bundle.url}/watch/${room!.id}?token=${token}`;
    const [host, guest] = await Promise.all([open("ann", url("ann")), open("bob", url("bob"))]);

    // Both pages play the stream (the room is not started: each at the live edge).
    for (const p of [host, guest])
      await waitFor(async () => (await positionOf(p)).playerMs !== undefined, "a page plays the stream");

    // The host starts the room where it is; then the host seeks back 3 s.
    await host.click("#play");
    await waitFor(async () => ((await gap(host, guest))?.gapMs ?? Infinity) <= 500, "both follow the room's PLAY");
    const before = await positionOf(host);
    await host.click("#back");
    await waitFor(async () => {
      const [a, b] = await Promise.all([positionOf(host), positionOf(guest)]);
      return (a.seq ?? 0) > (before.seq ?? 0) && b.seq === a.seq;
    }, "both pages have the seek");
    // The seek reached the guest as a RoomUpdate over /ws (room:<id>).
    await waitFor(
      async () =>
        (await guest.evaluate(() =>
          (window as unknown as { orbitWatch: { roomPushes(): number } }).orbitWatch.roomPushes(),
        )) > 0,
      "the guest's page got RoomUpdates over /ws",
    );
    const after = await positionOf(host);
    // The room moved back (by up to 3 s: the seek stays inside the live playlist's window).
    expect(after.roomMs - (before.roomMs + (after.atMs - before.atMs))).toBeLessThan(-1000);

    // Within 500 ms of each other, and it holds (five samples in a row).
    let held = 0;
    const last = await waitFor(async () => {
      const g = await gap(host, guest);
      held = g && g.gapMs <= 500 ? held + 1 : 0;
      return held >= 5 ? g : undefined;
    }, "both players within 500 ms of each other after the seek");
    expect(last.gapMs).toBeLessThanOrEqual(500);
    // And where the room is (each player within 500 ms of the room's clock).
    for (const p of [last.a, last.b]) expect(Math.abs(p.playerMs! - p.roomMs)).toBeLessThanOrEqual(500);

    // Room chat: a message sent in the guest's page appears in the host's.
    await guest.fill("#text", "hello from bob, the opening starts now");
    await guest.click("#chat button");
    await waitFor(
      async () => (await host.textContent("#messages"))?.includes("hello from bob, the opening starts now"),
      "the host's page shows the guest's message",
    );
    // It came through the push gateway (/ws), not only the page's slow fallback poll.
    await waitFor(
      async () =>
        (await host.evaluate(() =>
          (window as unknown as { orbitWatch: { chatPushes(): number } }).orbitWatch.chatPushes(),
        )) > 0,
      "the host's page got the message over /ws",
    );
    // Presence: both members are listed.
    expect(await host.textContent("#count")).toBe("2");

    const shot = process.env.ORBIT_WATCH_SCREENSHOT;
    if (shot) await host.screenshot({ path: shot });
  }, 120_000);
});
