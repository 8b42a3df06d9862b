// The viewer page: redeem the invite link, then play the program over WHEP (one POST with
// a complete offer: the server does not trickle). No build step, no inline script.

const TEXT = {
  en: {
    connecting: "Connecting…",
    waiting: "Waiting for the program…",
    invalid: "This link is no longer valid. Ask the director for a new one.",
    failed: "Connection lost. Reconnecting…",
    unmute: "Unmute",
    mute: "Mute",
    quality: "Quality",
    auto: "Auto",
    high: "High",
    low: "Low",
    kbps: "kbps",
    latency: "latency",
  },
  ko: {
    connecting: "연결 중…",
    waiting: "프로그램을 기다리는 중…",
    invalid: "이 링크는 더 이상 유효하지 않습니다. 감독에게 새 링크를 요청하세요.",
    failed: "연결이 끊겼습니다. 다시 연결하는 중…",
    unmute: "소리 켜기",
    mute: "소리 끄기",
    quality: "화질",
    auto: "자동",
    high: "고화질",
    low: "저화질",
    kbps: "kbps",
    latency: "지연",
  },
};
const T = TEXT[(navigator.language || "en").toLowerCase().startsWith("ko") ? "ko" : "en"];
const LAST = "rf.watch.last";
const JOIN = "rf.watch.join.";
const POLL_MS = 2000;
const STALL_MS = 6000;
// After losing a stream: look again after 0.5 s, doubling to POLL_MS while the backend is
// unreachable (jittered, so viewers do not return in step), for RECOVER_MS.
const RECOVER_MS = 30000;
// A peer (it lives in the backend) whose ICE link went quiet this long with no frames is
// gone: the backend restarted or died, so join again rather than wait out STALL_MS.
const LOST_MS = 1500;

const $ = (id) => document.getElementById(id);
const video = $("video");
const state = { join: null, pc: null, location: null, timer: null, lastFrames: 0,
  lastBytes: 0, lastAt: 0, stalledSince: 0, live: false, generation: 0, lostAt: 0, failures: 0 };

function show(name) {
  document.body.dataset.state = name;
  $("message").textContent = T[name] || "";
}

function inviteToken() {
  const fragment = location.hash.slice(1);
  if (fragment) {
    history.replaceState(null, "", location.pathname + location.search);
    localStorage.setItem(LAST, fragment);
    return fragment;
  }
  return localStorage.getItem(LAST);
}

async function join(invite) {
  try {
    const saved = JSON.parse(localStorage.getItem(JOIN + invite) || "null");
    if (saved && saved.expiresAt - 30000 > Date.now()) return saved;
  } catch {
    /* a damaged entry: join again */
  }
  const r = await fetch("/api/invites/redeem", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token: invite }),
  });
  if (r.status === 401 || r.status === 410 || r.status === 404) return null;
  if (!r.ok) throw new Error(`redeem ${r.status}`);
  const body = await r.json();
  const saved = { token: body.participant_token, session: body.session.id,
    expiresAt: Date.now() + body.expires_in * 1000 };
  localStorage.setItem(JOIN + invite, JSON.stringify(saved));
  return saved;
}

function auth(extra) {
  return { Authorization: `Bearer ${state.join.token}`, ...(extra || {}) };
}

async function status() {
  const r = await fetch(`/whep/${state.join.session}/status`, { headers: auth() });
  if (r.status === 401 || r.status === 403) throw Object.assign(new Error("denied"), { denied: true });
  if (!r.ok) return false;
  const body = await r.json();
  state.iceServers = Array.isArray(body.ice_servers) ? body.ice_servers : [];
  return body.live;
}

// The offer goes out with its candidates (the server does not trickle), but not only once
// gathering is "complete": Chromium takes ~150 ms for that (TCP candidates, every interface)
// while the UDP candidates that connect come within a few ms. So: once a usable UDP
// candidate is there (a host one without ICE servers, else a server-reflexive or relay
// one), wait a moment for its siblings, then go.
const GATHER_GRACE_MS = 40;
const GATHER_MAX_MS = 2000; // host candidates are enough; do not wait on a slow STUN

function gathered(pc, withServers) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    let grace = null;
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") resolve();
    });
    pc.addEventListener("icecandidate", (event) => {
      const c = event.candidate;
      if (!c || grace || (c.protocol || "").toLowerCase() !== "udp") return;
      if (withServers ? c.type === "host" : c.type !== "host") return;
      grace = setTimeout(resolve, GATHER_GRACE_MS);
    });
    setTimeout(resolve, GATHER_MAX_MS);
  });
}

// Chromium's lowest-latency playout: no extra delay on top of what the network needs
// (jitterBufferTarget in ms is the standard name, playoutDelayHint in s the older one).
function lowLatency(receiver) {
  if ("jitterBufferTarget" in receiver) receiver.jitterBufferTarget = 0;
  if ("playoutDelayHint" in receiver) receiver.playoutDelayHint = 0;
}

// The gateway answers with audio and video in one stream, and Chromium then holds whichever
// is ahead until the other catches up (A/V sync). Audio is always behind: an Opus packet
// leaves 20 ms after its first sample and NetEq buffers 40 ms or more, growing with any
// jitter, so the picture would wait for it (measured: video's jitter-buffer target 55–200 ms
// against its own minimum of 13–30 ms, rising with the audio buffer). A return feed wants
// the picture now: put the audio in a stream of its own, so each plays as early as it can;
// the sound then lags the picture by tens of milliseconds (EBU R37 allows 60).
function unsynced(sdp) {
  return sdp
    .split(/\r\n(?=m=)/)
    .map((section) =>
      section.startsWith("m=audio") ? section.replace(/^a=msid:\S+ /m, "a=msid:rf-audio ") : section,
    )
    .join("\r\n");
}

async function connect() {
  const pc = new RTCPeerConnection({ iceServers: state.iceServers || [] });
  const generation = ++state.generation;
  state.pc = pc;
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.addTransceiver("audio", { direction: "recvonly" });
  for (const transceiver of pc.getTransceivers()) lowLatency(transceiver.receiver);
  const stream = new MediaStream();
  pc.addEventListener("track", (event) => {
    lowLatency(event.receiver);
    stream.addTrack(event.track);
    video.srcObject = stream;
    video.play().catch(() => {});
  });
  pc.addEventListener("connectionstatechange", () => {
    if (generation === state.generation && ["failed", "closed"].includes(pc.connectionState)) {
      restart("failed");
    }
  });
  // Show the picture the moment its first frame is presented, not at the next stats tick.
  if ("requestVideoFrameCallback" in video) {
    video.requestVideoFrameCallback(() => {
      if (generation !== state.generation) return;
      state.stalledSince = Date.now();
      show("playing");
    });
  }
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc, (state.iceServers || []).length > 0);
  const r = await fetch(`/whep/${state.join.session}`, {
    method: "POST",
    headers: auth({ "Content-Type": "application/sdp" }),
    body: pc.localDescription.sdp,
  });
  if (r.status !== 201) {
    pc.close();
    state.pc = null;
    if (r.status === 401 || r.status === 403) throw Object.assign(new Error("denied"), { denied: true });
    return false;
  }
  state.location = r.headers.get("Location");
  await pc.setRemoteDescription({ type: "answer", sdp: unsynced(await r.text()) });
  state.stalledSince = Date.now();
  state.lastFrames = 0;
  state.lastAt = 0;
  if ($("quality").value !== "auto") setQuality();
  return true;
}

async function leave() {
  const pc = state.pc;
  const where = state.location;
  state.pc = null;
  state.location = null;
  state.generation++;
  if (pc) pc.close();
  if (where) fetch(where, { method: "DELETE", headers: auth() }).catch(() => {});
}

function restart(why) {
  leave();
  state.lostAt = Date.now();
  show(why === "failed" ? "failed" : "waiting");
}

async function setQuality() {
  if (!state.location) return;
  await fetch(`${state.location}/quality`, {
    method: "POST",
    headers: auth({ "Content-Type": "application/json" }),
    body: JSON.stringify({ mode: $("quality").value }),
  }).catch(() => {});
}

async function readStats() {
  const pc = state.pc;
  if (!pc) return;
  const report = await pc.getStats();
  let v = null;
  let a = null;
  let pair = null;
  report.forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "video") v = s;
    if (s.type === "inbound-rtp" && s.kind === "audio") a = s;
    if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pair = s;
  });
  const now = Date.now();
  const body = document.body.dataset;
  if (a) body.audioPackets = String(a.packetsReceived || 0);
  if (!v) return;
  const frames = v.framesDecoded || 0;
  body.frames = String(frames);
  const kbps = state.lastAt ? ((v.bytesReceived - state.lastBytes) * 8) / (now - state.lastAt) : 0;
  state.lastBytes = v.bytesReceived;
  state.lastAt = now;
  if (frames > state.lastFrames) {
    state.lastFrames = frames;
    state.stalledSince = now;
    if (state.live) show("playing");
  }
  const buffer = v.jitterBufferEmittedCount ? v.jitterBufferDelay / v.jitterBufferEmittedCount : 0;
  const rtt = pair && pair.currentRoundTripTime ? pair.currentRoundTripTime : 0;
  const latencyMs = Math.round((buffer + rtt / 2) * 1000);
  const layer = (v.frameHeight || 0) >= 300 ? T.high : v.frameHeight ? T.low : "–";
  body.layer = (v.frameHeight || 0) >= 300 ? "hi" : v.frameHeight ? "lo" : "";
  $("readout").textContent =
    `${T.quality}: ${layer} · ${Math.max(0, Math.round(kbps))} ${T.kbps} · ${T.latency} ~${latencyMs} ms`;
}

async function tick() {
  try {
    state.live = await status();
    state.failures = 0;
    if (state.pc && peerGone()) restart("failed");
    if (!state.live) {
      if (document.body.dataset.state !== "failed" || !state.pc) show("waiting");
    } else if (!state.pc) {
      show("connecting");
      if (!(await connect())) show("waiting");
    } else if (Date.now() - state.stalledSince > STALL_MS) {
      restart("failed"); // live, yet nothing decodes: start over
    }
    await readStats();
  } catch (err) {
    if (err.denied) {
      localStorage.removeItem(JOIN + localStorage.getItem(LAST));
      leave();
      show("invalid");
      return;
    }
    show("failed");
    state.failures++;
    // The backend is unreachable: if our stream stopped too, its peer went with it.
    await readStats().catch(() => {});
    if (state.pc && Date.now() - state.stalledSince > LOST_MS) restart("failed");
  }
  state.timer = setTimeout(tick, nextTick());
}

function peerGone() {
  const quiet = ["disconnected", "failed"].includes(state.pc.connectionState);
  return quiet && Date.now() - state.stalledSince > LOST_MS;
}

function nextTick() {
  if (state.pc && state.live) return 1000;
  const recovering = Date.now() - state.lostAt < RECOVER_MS;
  const base = recovering ? Math.min(POLL_MS, 500 * 2 ** state.failures) : POLL_MS;
  return base * (0.8 + Math.random() * 0.4);
}

function setup() {
  $("unmute").textContent = T.unmute;
  $("unmute").setAttribute("aria-pressed", "false");
  $("unmute").addEventListener("click", () => {
    video.muted = !video.muted;
    if (!video.muted) video.play().catch(() => {});
    $("unmute").textContent = video.muted ? T.unmute : T.mute;
    $("unmute").setAttribute("aria-pressed", String(!video.muted));
  });
  $("quality-label").textContent = T.quality + " ";
  for (const option of $("quality").options) option.textContent = T[option.value];
  $("quality").addEventListener("change", setQuality);
  document.documentElement.lang = T === TEXT.ko ? "ko" : "en";
  addEventListener("pagehide", leave);
}

async function main() {
  setup();
  show("connecting");
  const invite = inviteToken();
  state.join = invite ? await join(invite).catch(() => null) : null;
  if (!state.join) {
    show("invalid");
    return;
  }
  tick();
}

main();
