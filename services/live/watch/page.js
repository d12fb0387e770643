// The watch page's script (/watch/<room>), bundled for the browser by esbuild
// (services/live/watch/serve.ts) with hls.js and the sync module. Plain ESM:
// the project's TypeScript is checked for Node, and this file runs in a browser.
//
// It signs in (a token from ?token=, else the form: LogIn/SignUp), joins the
// room, plays its HLS with hls.js, follows the room clock with RoomSync
// (docs/live.md: pings for the clock offset, states pushed as RoomUpdate on the
// gateway's room:<id> channel, GetRoomState every 2 s as a fallback), shows the members and the
// room chat (SendMessage; ListMessages when /ws says a message came, and every
// 5 s as a fallback), and gives the host
// (or anyone when the room allows) play, pause and seek. Every call is Connect's
// JSON protocol over fetch; pushes come over the gateway's /ws in JSON frames.
//
// Positions: for a stored video, the player's time. For a live stream, each
// viewer's player starts its timeline where it joined, so positions are the
// stream's program date-time (EXT-X-PROGRAM-DATE-TIME, epoch ms, the same for
// every viewer): the host's first PLAY puts the room clock at the frame the
// host sees, and seeks stay inside the playlist's window.
import Hls from "hls.js/light"; // no subtitles, alternate audio or DRM: not needed here
import { RoomSync } from "../sync/sync-client.js";

const $ = (id) => document.getElementById(id);
const roomId = decodeURIComponent(location.pathname.split("/").filter(Boolean)[1] ?? "");
const params = new URLSearchParams(location.search);
let token = params.get("token") || sessionStorage.getItem("orbit-token") || "";

/** One Connect unary call with the JSON codec. */
async function rpc(service, method, body) {
  const res = await fetch(`/${service}/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body ?? {}),
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) {
    const e = new Error(json.message || `${method}: HTTP ${res.status}`);
    e.code = json.code;
    throw e;
  }
  return json;
}
const ROOMS = "orbit.live.v1.RoomService";
const CHAT = "orbit.chat.v1.ChatService";
const USERS = "orbit.user.v1.UserService";

function status(text, isError = false) {
  const el = $("status");
  el.textContent = text;
  el.className = isError ? "error" : "";
}

// ── sign-in ──────────────────────────────────────────────────────────────────

function signIn() {
  return new Promise((resolve) => {
    $("signin").hidden = false;
    const go = (method) => async (ev) => {
      ev.preventDefault();
      try {
        const r = await rpc(USERS, method, { handle: $("handle").value, password: $("password").value });
        token = r.token;
        sessionStorage.setItem("orbit-token", token);
        $("signin").hidden = true;
        resolve();
      } catch (e) {
        status(e.message, true);
      }
    };
    $("signin").addEventListener("submit", go("LogIn"));
    $("signup").addEventListener("click", go("SignUp"));
  });
}

// ── the player ───────────────────────────────────────────────────────────────

const video = $("video");
let hls;
let live = false;
/** Stream time (ms) − player time (ms): 0 for a stored video; from the program date-time for a stream. */
let offsetMs;

function attach(url) {
  if (Hls.isSupported()) {
    // No hls.js live catch-up (maxLiveSyncPlaybackRate 1): the room clock decides the speed.
    hls = new Hls({ liveSyncDurationCount: 1, lowLatencyMode: false, maxLiveSyncPlaybackRate: 1 });
    hls.loadSource(url);
    hls.attachMedia(video);
    hls.on(Hls.Events.ERROR, (_e, data) => {
      if (data.fatal) status(`player: ${data.details}`, true);
    });
  } else {
    video.src = url; // native HLS (Safari)
  }
}

/** The stream-time offset, once the player shows a frame with a date (streams) — fixed from then on. */
function streamOffset() {
  if (offsetMs !== undefined) return offsetMs;
  if (!live) return (offsetMs = 0);
  const date = hls?.playingDate ?? (video.getStartDate ? video.getStartDate() : undefined);
  const t = date instanceof Date ? date.getTime() : NaN;
  if (!Number.isFinite(t) || video.currentTime <= 0) return undefined;
  offsetMs = hls?.playingDate ? t - video.currentTime * 1000 : t;
  return offsetMs;
}

/** The player as RoomSync sees it, in room positions. */
const player = {
  positionMs: () => video.currentTime * 1000 + (offsetMs ?? 0),
  isPlaying: () => !video.paused,
  play: () => void video.play().catch(() => {}),
  pause: () => video.pause(),
  setRate: (r) => {
    if (Math.abs(video.playbackRate - r) > 1e-3) video.playbackRate = r;
  },
  seek: (ms) => {
    video.currentTime = clampTime((ms - (offsetMs ?? 0)) / 1000);
  },
  isSeeking: () => video.seeking,
};

/** Keeps a seek inside what the player can reach (a live playlist is a short window). */
function clampTime(t, marginS = 0.5) {
  const s = video.seekable;
  if (!live || !s || s.length === 0) return Math.max(0, t);
  const lo = s.start(0) + marginS;
  const hi = Math.max(lo, s.end(s.length - 1) - 1);
  return Math.min(hi, Math.max(lo, t));
}

// ── the room ─────────────────────────────────────────────────────────────────

let room;
const sync = new RoomSync(player, () => Date.now());
let lastState;

function toState(s) {
  return {
    seq: Number(s.seq ?? 0),
    playing: Boolean(s.playing),
    positionMs: Number(s.positionMs ?? 0),
    atServerTimeMs: Number(s.atServerTimeMs ?? 0),
    rate: s.rate ?? 1,
    pausedFor: s.pausedFor || undefined,
  };
}

async function ping() {
  const t0 = Date.now();
  const r = await rpc(ROOMS, "Ping", {});
  sync.addSample({ t0, serverTime: Number(r.serverTimeMs), t1: Date.now() });
}

/**
 * Hands a state to RoomSync once the player's timeline is known. A stream's
 * room that was never played on the stream's clock (position before the
 * stream's first date: a new room at 0) is left alone: viewers watch the live
 * edge until the host plays.
 */
function apply(state) {
  if (streamOffset() === undefined) return;
  if (live && state.positionMs < offsetMs) return;
  sync.onState(state);
}

function onState(s) {
  const next = toState(s);
  if (lastState && next.seq < lastState.seq) return; // an older answer than a push already applied
  lastState = next;
  apply(lastState);
  renderMembers(s.members ?? []);
  const pos = lastState.positionMs - (live ? (offsetMs ?? 0) : 0);
  $("clock").textContent = `${lastState.playing ? "playing" : "paused"}${
    lastState.pausedFor ? ` (waiting: ${lastState.pausedFor})` : ""
  } · ${live ? "live" : `${(pos / 1000).toFixed(1)} s`} · ×${lastState.rate}`;
}

async function refreshState() {
  const s = await rpc(ROOMS, "GetRoomState", { roomId });
  if (s.hostId) room.hostId = s.hostId;
  onState(s);
}

function renderMembers(members) {
  const ul = $("members");
  ul.replaceChildren(
    ...members.map((m) => {
      const li = document.createElement("li");
      const host = String(m.userId) === String(room.hostId);
      li.textContent = `user ${m.userId}${host ? " (host)" : ""}${m.buffering ? " · buffering" : ""}`;
      return li;
    }),
  );
  $("count").textContent = String(members.length);
}

async function control(action, positionMs) {
  try {
    const body = { roomId, action };
    if (positionMs !== undefined) body.positionMs = String(Math.max(0, Math.round(positionMs)));
    const r = await rpc(ROOMS, "Control", body);
    onState(r.state);
  } catch (e) {
    status(e.message, true);
  }
}

/** The room's position now, else the player's. */
function roomPositionNow() {
  const s = sync.state;
  if (!s) return player.positionMs();
  const t = sync.serverNow();
  return s.playing ? s.positionMs + Math.max(0, t - s.atServerTimeMs) * s.rate : s.positionMs;
}

function seekBy(deltaMs) {
  const target = roomPositionNow() + deltaMs;
  // Keep it where the players can go, 2 s clear of the live window's start: the window
  // slides on while the seek reaches the others, and a player clamps what it cannot reach.
  const t = clampTime((target - (offsetMs ?? 0)) / 1000, 2) * 1000 + (offsetMs ?? 0);
  return control("CONTROL_ACTION_SEEK", t);
}

// ── chat ─────────────────────────────────────────────────────────────────────

const shown = new Set();
async function loadChat() {
  if (!room.conversationId || room.conversationId === "0") return;
  const r = await rpc(CHAT, "ListMessages", { conversationId: room.conversationId, pageSize: 50 });
  const list = $("messages");
  for (const m of (r.messages ?? []).slice().reverse()) {
    if (shown.has(m.id)) continue;
    shown.add(m.id);
    const li = document.createElement("li");
    const who = document.createElement("b");
    who.textContent = `user ${m.senderId}: `;
    li.append(who, document.createTextNode(m.deleted ? "(deleted)" : (m.text ?? "")));
    list.append(li);
    list.scrollTop = list.scrollHeight;
  }
}

/**
 * The push gateway's WebSocket (/ws, JSON frames, docs/push.md): the room chat's
 * messages arrive as `chat` updates, and the page reloads the chat at once.
 * Reconnects after a drop (ListMessages fills any gap); polling stays as a slow fallback.
 */
let chatPushes = 0;
let roomPushes = 0;
function connectPush(delayMs = 1000) {
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws?format=json`);
  let alive;
  ws.onopen = () => {
    ws.send(`Bearer ${token}`);
    alive = setInterval(() => ws.send(JSON.stringify({ ping: {} })), 30_000);
  };
  ws.onmessage = (ev) => {
    let u;
    try {
      u = JSON.parse(ev.data);
    } catch {
      return;
    }
    if (u.hello) {
      delayMs = 1000;
      // The room's channel: RoomUpdate on every change of its clock, members or host.
      ws.send(JSON.stringify({ join: { channel: `room:${roomId}` } }));
    }
    if (u.room && String(u.room.roomId) === roomId && u.room.state) {
      roomPushes += 1;
      if (u.room.hostId) room.hostId = u.room.hostId;
      onState(u.room.state);
    }
    // Someone came or went: the member list (with who is online) from GetRoomState.
    if (u.presence?.channel === `room:${roomId}` || u.joined?.channel === `room:${roomId}`) void refreshState();
    if (u.chat && String(u.chat.conversationId) === String(room.conversationId)) {
      const c = u.chat;
      chatPushes += c.messageSent ? 1 : (c.batch?.updates ?? []).filter((x) => x.messageSent).length;
      void loadChat().catch(() => {});
    }
  };
  ws.onclose = () => {
    clearInterval(alive);
    setTimeout(() => connectPush(Math.min(delayMs * 2, 30_000)), delayMs);
  };
}

async function sendChat(ev) {
  ev.preventDefault();
  const text = $("text").value.trim();
  if (!text) return;
  try {
    await rpc(CHAT, "SendMessage", {
      conversationId: room.conversationId,
      clientMessageId: crypto.randomUUID(),
      text,
    });
    $("text").value = "";
    await loadChat();
  } catch (e) {
    status(e.message, true); // slow mode, the rate limit
  }
}

// ── start ────────────────────────────────────────────────────────────────────

function every(ms, fn) {
  const run = async () => {
    try {
      await fn();
    } catch (e) {
      status(e.message, true);
    }
    setTimeout(run, ms);
  };
  setTimeout(run, ms);
}

async function main() {
  if (!/^\d{1,20}$/.test(roomId)) return status("no such room", true);
  if (!token) await signIn();
  const joined = await rpc(ROOMS, "JoinRoom", { roomId });
  room = joined.room;
  live = room.streamId !== undefined && room.streamId !== "0";
  $("title").textContent = room.title || `Room ${roomId}`;
  document.title = `${room.title || `Room ${roomId}`} · Orbit`;
  $("room").hidden = false;
  status("");

  for (let i = 0; i < 5; i++) {
    await ping();
    await new Promise((r) => setTimeout(r, 200));
  }
  attach(room.mediaUrl);
  video.addEventListener("seeked", () => sync.seeked());
  video.addEventListener(
    "waiting",
    () => void rpc(ROOMS, "ReportBuffering", { roomId, buffering: true }).catch(() => {}),
  );
  video.addEventListener(
    "playing",
    () => void rpc(ROOMS, "ReportBuffering", { roomId, buffering: false }).catch(() => {}),
  );
  // A stream's first frame gives its timeline; then the room's clock applies.
  video.addEventListener("timeupdate", () => {
    if (lastState && offsetMs === undefined) apply(lastState);
  });
  onState(joined.state);
  if (live || !joined.state?.playing) void video.play().catch(() => {}); // load frames (a stream's date); the sync pauses it

  $("play").addEventListener("click", () => control("CONTROL_ACTION_PLAY", live ? player.positionMs() : undefined));
  $("pause").addEventListener("click", () => control("CONTROL_ACTION_PAUSE"));
  $("back").addEventListener("click", () => seekBy(live ? -3000 : -10000));
  $("forward").addEventListener("click", () => seekBy(live ? 3000 : 10000));
  $("chat").addEventListener("submit", sendChat);

  every(250, () => (sync.state ? sync.step() : undefined));
  // States come over /ws (RoomUpdate on room:<id>); GetRoomState every 2 s covers a dropped socket.
  every(2000, refreshState);
  every(5000, ping);
  connectPush();
  every(5000, loadChat);
  // Leaving the page leaves the room (keepalive: the request outlives the page).
  addEventListener("pagehide", () => {
    void fetch(`/${ROOMS}/LeaveRoom`, {
      method: "POST",
      keepalive: true,
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ roomId }),
    }).catch(() => {});
  });
  await loadChat();
}

// For tests and the curious: the room position the player shows, and the room's.
window.orbitWatch = {
  position: () => ({
    atMs: Date.now(),
    playerMs: offsetMs === undefined ? undefined : player.positionMs(),
    roomMs: roomPositionNow(),
    playing: !video.paused,
    seq: sync.state?.seq,
    seekableMs:
      video.seekable.length > 0
        ? [
            video.seekable.start(0) * 1000 + (offsetMs ?? 0),
            video.seekable.end(video.seekable.length - 1) * 1000 + (offsetMs ?? 0),
          ]
        : undefined,
  }),
  /** Messages of this room's chat announced over /ws. */
  chatPushes: () => chatPushes,
  /** RoomUpdates of this room received over /ws. */
  roomPushes: () => roomPushes,
};

main().catch((e) => status(e.message, true));
