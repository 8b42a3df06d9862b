// The viewer page: redeem the invite link, then play the program over WHEP (whep.js, the
// player the phone tally page uses too). No build step, no inline script.

import { WhepPlayer } from "./whep.js";

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

const $ = (id) => document.getElementById(id);
const video = $("video");
let player = null; // the WhepPlayer, once the link is redeemed

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

function readout(stats) {
  const body = document.body.dataset;
  if (stats.audioPackets !== null) body.audioPackets = String(stats.audioPackets);
  const v = stats.video;
  if (!v) return;
  body.frames = String(v.frames);
  body.layer = v.layer;
  const layer = { hi: T.high, lo: T.low }[v.layer] || "–";
  $("readout").textContent =
    `${T.quality}: ${layer} · ${v.kbps} ${T.kbps} · ${T.latency} ~${v.latencyMs} ms`;
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
  $("quality").addEventListener("change", () => player && player.applyMode());
  document.documentElement.lang = T === TEXT.ko ? "ko" : "en";
  addEventListener("pagehide", () => player && player.leave());
}

async function main() {
  setup();
  show("connecting");
  const invite = inviteToken();
  const joined = invite ? await join(invite).catch(() => null) : null;
  if (!joined) {
    show("invalid");
    return;
  }
  player = new WhepPlayer(video, {
    session: joined.session,
    token: joined.token,
    mode: () => $("quality").value,
    onShow: show,
    onStats: readout,
    onDenied: () => {
      localStorage.removeItem(JOIN + invite);
      show("invalid");
    },
  });
  player.start();
}

main();
