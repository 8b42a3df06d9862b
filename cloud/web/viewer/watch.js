// The viewer page: redeem the invite link, then play the program over WHEP (whep.js, the
// player the phone tally page uses too), renewing the participant token as it goes
// (watch-join.js). No build step, no inline script.

import {
  forgetJoin,
  inviteToken,
  redeem,
  renew,
  renewalDue,
  renewCheckMs,
  saveJoin,
  storedJoin,
} from "./watch-join.js";
import { paintScrub, Replay } from "./replay.js";
import { WhepPlayer } from "./whep.js";

const TEXT = {
  en: {
    connecting: "Connecting…",
    waiting: "Waiting for the program…",
    invalid: "This link is no longer valid. Ask the director for a new one.",
    expired: "This link has expired. Ask the director for a new one.",
    revoked: "The director revoked this link. Ask the director for a new one.",
    ended: "The session has ended.",
    failed: "Connection lost. Reconnecting…",
    unmute: "Unmute",
    mute: "Mute",
    quality: "Quality",
    auto: "Auto",
    high: "High",
    low: "Low",
    notIncluded: "not included in this link",
    loOnly: "This link includes low quality only (the director's choice).",
    kbps: "kbps",
    // What the figure is: jitter buffer + half the round trip, from the server to this
    // screen. The cameras -> switcher -> server part is not in it, so it is not called the
    // latency (the page cannot see that part: the server's clock starts at its own send).
    latency: "from the server",
    latencyTitle:
      "Network and playout buffer between the ReturnFeed server and this screen. " +
      "The delay from the cameras to the server is not included.",
    lipSync: "Lip sync",
    lipSyncOff: "Picture first: the sound may lag it a little",
    lipSyncOn: "Sound and picture in step, the picture a little later",
    replay: "Replay",
    replayTitle: "Scrub back through the last minutes of the program",
    live: "Back to live",
    replayLoading: "Loading the replay…",
    replayFailed: "The replay is not available. Back to live.",
    behind: "behind live",
  },
  ko: {
    connecting: "연결 중…",
    waiting: "프로그램을 기다리는 중…",
    invalid: "이 링크는 더 이상 유효하지 않습니다. 감독에게 새 링크를 요청하세요.",
    expired: "이 링크는 만료되었습니다. 감독에게 새 링크를 요청하세요.",
    revoked: "감독이 이 링크를 취소했습니다. 감독에게 새 링크를 요청하세요.",
    ended: "세션이 끝났습니다.",
    failed: "연결이 끊겼습니다. 다시 연결하는 중…",
    unmute: "소리 켜기",
    mute: "소리 끄기",
    quality: "화질",
    auto: "자동",
    high: "고화질",
    low: "저화질",
    notIncluded: "이 링크에 포함되지 않음",
    loOnly: "이 링크는 저화질만 볼 수 있습니다 (감독의 설정).",
    kbps: "kbps",
    latency: "서버에서",
    latencyTitle:
      "ReturnFeed 서버와 이 화면 사이의 네트워크·재생 버퍼 지연입니다. " +
      "카메라에서 서버까지의 지연은 포함되지 않습니다.",
    lipSync: "립싱크",
    lipSyncOff: "화면 우선: 소리가 조금 늦을 수 있습니다",
    lipSyncOn: "소리와 화면을 맞춥니다. 화면이 조금 늦어집니다",
    replay: "다시 보기",
    replayTitle: "프로그램의 최근 몇 분을 되돌려 봅니다",
    live: "라이브로",
    replayLoading: "다시 보기를 불러오는 중…",
    replayFailed: "다시 보기를 쓸 수 없습니다. 라이브로 돌아갑니다.",
    behind: "라이브보다 늦음",
  },
};
const T = TEXT[(navigator.language || "en").toLowerCase().startsWith("ko") ? "ko" : "en"];
const $ = (id) => document.getElementById(id);
const video = $("video");
const page = {
  invite: null,
  join: null, // {session, token, expiresAt, renewAt}
  renewing: null, // the token renewal in flight
  refusedToken: null, // a token the backend would not renew: WHEP will refuse it too
  rejoined: false, // redeemed again after a refusal, and not yet let in with that token
  renewTimer: null,
  lipSync: true, // the viewer's choice, kept on this device (LIP_SYNC_KEY)
};
let player = null; // the WhepPlayer, once the link is redeemed
let replay = null; // the Replay while the viewer scrubs back (the WHEP player stopped)
const REPLAY_BACK_S = 30; // where a replay starts, behind the newest recorded moment
// Lip sync is on unless this viewer turned it off (kept on this device). A remote viewer
// listens to the program, and measured (docs/BENCHMARKS.md, "Lip sync") the sound lands
// 57 ms after the picture in sync against 107 ms without, and without sync it drifts to
// 0.3-0.7 s late on a busy machine; sync costs the picture about 70 ms. "Picture first"
// is the choice for cueing. The phones' tally page, which is for cueing, stays picture first.
const LIP_SYNC_KEY = "returnfeed.lipSync";

function show(name) {
  document.body.dataset.state = name;
  $("message").textContent = T[name] || "";
}

// The token to send, renewed first once past half its life: the player asks before each
// look at the server (so on load and on every reconnect), and a timer asks too.
function freshToken() {
  const join = page.join;
  if (!renewalDue(join) || page.refusedToken === join.token) return join.token;
  page.renewing ||= renew(join).then((outcome) => {
    page.renewing = null;
    if (outcome === "renewed") saveJoin(page.invite, join);
    if (outcome === "refused") page.refusedToken = join.token;
  });
  return page.renewing.then(() => join.token);
}

async function enter() {
  let result;
  try {
    result = await redeem(page.invite);
  } catch {
    show("failed"); // unreachable, or a server error: the link may be fine
    setTimeout(enter, 4000);
    return;
  }
  if (result.error) {
    show(result.error);
    return;
  }
  page.join = result.join;
  play();
}

// Instant replay: leave the gateway (WHEP), play the recording's HLS from REPLAY_BACK_S
// behind, scrub with the bar; "Back to live" ends it and joins WHEP again.
function startReplay() {
  if (!page.join || replay) return;
  if (player) player.stop();
  player = null;
  $("replay").hidden = true;
  $("dvr").hidden = false;
  $("message").textContent = T.replayLoading;
  document.body.dataset.state = "replay-loading";
  replay = new Replay(video, {
    session: page.join.session,
    token: () => page.join.token,
    onState: (state) => {
      if (state === "playing") document.body.dataset.state = "replay";
      if (state === "failed") {
        $("message").textContent = T.replayFailed;
        setTimeout(backToLive, 2000);
      }
    },
    onTime: showReplayTime,
  });
  replay.start(REPLAY_BACK_S);
}

function showReplayTime(time) {
  const behind = paintScrub($("scrub"), $("behind"), time, T.behind);
  document.body.dataset.replayBehindS = String(behind);
}

function backToLive() {
  if (!replay) return;
  replay.stop();
  replay = null;
  $("dvr").hidden = true;
  $("replay").hidden = false;
  delete document.body.dataset.replayBehindS;
  play();
}

function play() {
  clearInterval(page.renewTimer);
  page.renewTimer = setInterval(freshToken, renewCheckMs(page.join));
  player = new WhepPlayer(video, {
    session: page.join.session,
    token: page.join.token,
    freshToken,
    mode: () => $("quality").value,
    onShow: (name) => {
      if (name === "waiting" || name === "playing") page.rejoined = false; // let in
      show(name);
    },
    onStats: readout,
    onDenied: denied,
    onQuality: limitQuality,
    lipSync: page.lipSync,
  });
  player.start();
}

// The token was refused (it expired while the device slept, or access ended): redeem the
// link once more, and the reply says whether it still admits anyone (else why not).
function denied() {
  forgetJoin(page.invite);
  player = null;
  if (page.rejoined) {
    show("invalid");
    return;
  }
  page.rejoined = true;
  enter();
}

// What the link allows: under a lo-only ceiling the other choices stay in the list, off,
// with the reason, so the viewer sees why high is not there rather than a missing option.
function limitQuality(quality) {
  const lo = quality.ceiling === "lo";
  const select = $("quality");
  for (const option of select.options) {
    const off = lo && option.value !== "low";
    option.disabled = off;
    option.textContent = off ? `${T[option.value]}: ${T.notIncluded}` : T[option.value];
  }
  if (lo && select.value !== "low") {
    select.value = "low";
    if (player) player.applyMode();
  }
  select.title = lo ? T.loOnly : "";
  $("quality-note").textContent = lo ? T.loOnly : "";
  document.body.dataset.ceiling = quality.ceiling;
}

function readout(stats) {
  const body = document.body.dataset;
  if (stats.audioPackets !== null) body.audioPackets = String(stats.audioPackets);
  const v = stats.video;
  if (!v) return;
  body.frames = String(v.frames);
  body.layer = v.layer;
  body.serverDelayMs = String(v.latencyMs);
  const layer = { hi: T.high, lo: T.low }[v.layer] || "–";
  const readout = $("readout");
  readout.textContent =
    `${T.quality}: ${layer} · ${v.kbps} ${T.kbps} · ${T.latency} ~${v.latencyMs} ms`;
  readout.title = T.latencyTitle;
}

function lipSyncChosen() {
  try {
    return localStorage.getItem(LIP_SYNC_KEY) !== "off";
  } catch {
    return true; // storage blocked: the default
  }
}

function showLipSync(on) {
  const button = $("lipsync");
  button.setAttribute("aria-pressed", String(on));
  button.title = on ? T.lipSyncOn : T.lipSyncOff;
  document.body.dataset.lipSync = on ? "on" : "off";
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
  $("lipsync").textContent = T.lipSync;
  page.lipSync = lipSyncChosen();
  showLipSync(page.lipSync);
  $("lipsync").addEventListener("click", () => {
    const on = !page.lipSync;
    page.lipSync = on;
    try {
      localStorage.setItem(LIP_SYNC_KEY, on ? "on" : "off");
    } catch {
      // not kept past this page; it still applies now
    }
    showLipSync(on);
    if (player) player.setLipSync(on);
  });
  $("replay").textContent = T.replay;
  $("replay").title = T.replayTitle;
  $("replay").addEventListener("click", startReplay);
  $("live").textContent = T.live;
  $("live").addEventListener("click", backToLive);
  $("scrub").addEventListener("input", () => replay && replay.seek(Number($("scrub").value)));
  $("quality-label").textContent = T.quality + " ";
  for (const option of $("quality").options) option.textContent = T[option.value];
  $("quality").addEventListener("change", () => player && player.applyMode());
  document.documentElement.lang = T === TEXT.ko ? "ko" : "en";
  addEventListener("pagehide", () => player && player.leave());
}

function main() {
  setup();
  show("connecting");
  page.invite = inviteToken();
  if (!page.invite) {
    show("invalid");
    return;
  }
  page.join = storedJoin(page.invite);
  if (page.join) play();
  else enter();
}

main();
