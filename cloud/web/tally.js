// The phone tally page: joins from the invite link, keeps one relay connection, feeds what
// arrives to the reducer (tally-state.js), alerts the operator, and repaints
// (tally-paint.js) after every change.

import { Beeper, WakeKeeper, vibrate } from "./tally-alerts.js";
import { paintScrub } from "./replay.js";
import { otherLanguage, pickLanguage, storeLanguage, t } from "./tally-i18n.js";
import {
  forgetJoin,
  looksValid,
  redeem,
  saveJoin,
  storedJoin,
  takeInviteToken,
} from "./tally-join.js";
import { RelayLink } from "./tally-link.js";
import { paint } from "./tally-paint.js";
import { initialState, reduce, view } from "./tally-state.js";

const $ = (id) => document.getElementById(id);
const BEEP_KEY = "rf.beep";
// The program video is opt-in and remembered per device, as is its quality: the low layer
// unless the operator picks auto (phones are often on cellular).
const VIDEO_KEY = "rf.tally.video";
const VIDEO_MODE_KEY = "rf.tally.video.mode";
const TEST_STEPS = ["program", "preview", "off"];

const app = {
  lang: pickLanguage(),
  invite: null,
  join: null,
  state: initialState(),
  link: null,
  liveLamp: null, // the last lamp shown while live, to alert only on a change
  test: null, // {step, timer} while the test mode runs
  error: null, // {kind, retryAfter?}: a full-screen error
  choosing: false,
  reRedeemed: false,
  renewing: null,
  refused: null, // a token the backend would not renew
  unlocked: false,
  wake: "none",
  video: {
    on: localStorage.getItem(VIDEO_KEY) === "1",
    mode: localStorage.getItem(VIDEO_MODE_KEY) === "auto" ? "auto" : "low",
    state: "off",
    muted: true,
    ceiling: null, // the link's quality ceiling, once the gateway says: "auto" or "lo"
    replay: false, // looking back through the recording (instant replay)
  },
};
let program = null; // tally-video.js's ProgramVideo, loaded the first time it is wanted
const beeper = new Beeper();
beeper.enabled = localStorage.getItem(BEEP_KEY) === "1";
const wake = new WakeKeeper((mode) => {
  app.wake = mode;
  render();
});

function dispatch(msg) {
  const before = app.state;
  app.state = reduce(before, msg);
  const now = app.state;
  if (now.needSnapshot && app.link) {
    app.link.send({ type: "snapshot_request", last_seq: now.seq });
    app.state = reduce(app.state, { type: "local.snapshot_requested" });
  }
  if (msg.type === "snapshot" && now.synced) {
    app.link.synced();
    app.reRedeemed = false;
  }
  if (now.camera !== before.camera && app.join) {
    app.join.chosenCamera = now.camera;
    saveJoin(app.invite, app.join);
  }
  if (now.flashes > before.flashes) flash();
  if (msg.type === "error" && msg.code === "unknown_camera" && app.join.boundCamera === null) {
    app.state = reduce(app.state, { type: "local.choose", camera: null }); // choose again
  }
  if (now.messages.length > before.messages.length) {
    vibrate([120, 80, 120]);
    beeper.beep(1, 660);
  }
  render();
}

// ---- joining and the relay connection ----

async function start() {
  wireControls();
  app.invite = takeInviteToken();
  if (!app.invite) return fail({ kind: "nolink" });
  if (!looksValid(app.invite)) return fail({ kind: "invalid" });
  app.join = storedJoin(app.invite);
  render();
  if (app.join) begin();
  else await join();
}

async function join() {
  const previous = app.join; // a re-join keeps the camera the operator chose
  const result = await redeem(app.invite);
  if (result.error) {
    fail(result.error);
    if (result.error.kind === "busy") setTimeout(join, result.error.retryAfter * 1000);
    if (result.error.kind === "unreachable") setTimeout(join, 4000);
    return;
  }
  app.join = result.join;
  if (previous && previous.chosenCamera !== null) {
    app.join.chosenCamera = previous.chosenCamera;
    saveJoin(app.invite, app.join);
  }
  app.error = null;
  begin();
}

function begin() {
  const j = app.join;
  const camera = j.boundCamera !== null ? j.boundCamera : j.chosenCamera;
  app.state = reduce(app.state, { type: "local.choose", camera: camera ?? null });
  connect();
  clearInterval(app.renewTimer);
  app.renewTimer = setInterval(renewToken, 1000);
  wake.acquire();
  syncVideo();
  render();
}

function capabilities() {
  const caps = [];
  if ("vibrate" in navigator) caps.push("vibrate");
  if ("wakeLock" in navigator) caps.push("wake_lock");
  if (window.AudioContext || window.webkitAudioContext) caps.push("beep");
  return caps;
}

function connect() {
  if (app.link) app.link.stop();
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const url = `${scheme}//${location.host}/api/relay/${encodeURIComponent(app.join.sessionId)}`;
  app.link = new RelayLink(url, app.join.token, {
    hello: () => ({
      type: "hello",
      role: "camera",
      protocol: 1,
      capabilities: capabilities(),
      camera: app.state.camera,
    }),
    onStatus: (status) => {
      if (status === "connecting") renewToken();
      dispatch({ type: "local.link", status });
    },
    onMessage: dispatch,
    onFinal: finalClose,
  });
  app.link.start();
}

// Past half its life the token is renewed (renew.js): on load, reconnect and timer.
function renewToken() {
  const join = app.join;
  if (app.renewing || join.renewAt > Date.now() || app.refused === join.token) return;
  app.renewing = import("./renew.js")
    .then((m) => m.renew(join), () => "failed")
    .then((outcome) => {
      app.renewing = null;
      if (outcome === "refused") app.refused = join.token;
      if (outcome !== "renewed" || join !== app.join) return;
      saveJoin(app.invite, join);
      app.link.token = join.token;
      syncVideo();
    });
}

function finalClose(code) {
  if (code === 4401 && !app.reRedeemed) {
    // The participant token was refused (expired, or removed): redeem the link once more.
    app.reRedeemed = true;
    forgetJoin(app.invite);
    join();
    return;
  }
  fail({ kind: { 4401: "invalid", 4403: "forbidden", 4404: "ended" }[code] || "invalid" });
}

function fail(error) {
  app.error = error;
  if (error.kind !== "unreachable" && error.kind !== "busy" && app.link) app.link.stop();
  stopTest();
  syncVideo();
  render();
}

// ---- what the operator does ----

function chooseCamera(number) {
  app.choosing = false;
  dispatch({ type: "local.choose", camera: number });
  if (app.link) app.link.restart(); // a new hello names the camera
}

function acknowledge() {
  const msg = view(app.state).message;
  if (!msg) return;
  const camera = app.state.camera ?? msg.camera;
  // Dismissed only once sent: an operator who acknowledged while offline tries again.
  if (camera === null || !app.link || !app.link.send({ type: "ack", id: msg.id, camera })) return;
  dispatch({ type: "local.ack", id: msg.id });
}

function startTest() {
  stopTest();
  beeper.unlock();
  app.test = { step: -1, timer: setInterval(nextTestStep, 1500) };
  nextTestStep();
}

function nextTestStep() {
  app.test.step = (app.test.step + 1) % TEST_STEPS.length;
  if (TEST_STEPS[app.test.step] === "program") {
    vibrate([250, 100, 250]);
    beeper.beep(2, 1000, true);
  }
  render();
}

function stopTest() {
  if (app.test) clearInterval(app.test.timer);
  app.test = null;
  render();
}

// ---- the program video ----

// Watching needs the video on and a join that works; called whenever either may change.
async function syncVideo() {
  const video = app.video;
  if (!program) {
    if (!video.on || !app.join) return;
    let loaded;
    try {
      loaded = await import("./tally-video.js");
    } catch {
      // Not loaded (the network dropped just then): say so, and try again shortly.
      video.state = "failed";
      render();
      setTimeout(syncVideo, 5000);
      return;
    }
    program ||= new loaded.ProgramVideo(
      $("program-video"),
      (state) => {
        video.state = state;
        if (state === "failed" && video.replay) setTimeout(backToLive, 2000); // no recording
        render();
      },
      (quality) => {
        video.ceiling = quality.ceiling;
        syncVideo();
        render();
      },
    );
  }
  // Read after the import: the operator may have switched it off meanwhile. A lo-only link
  // asks for low (the operator's stored choice stays for a link that allows more).
  const mode = video.ceiling === "lo" ? "low" : video.mode;
  program.want(video.on && !app.error ? app.join : null, mode, !video.muted);
}

function toggleVideo() {
  const video = app.video;
  video.on = !video.on;
  video.replay = false; // switching the video off ends a replay too (ProgramVideo._sync)
  localStorage.setItem(VIDEO_KEY, video.on ? "1" : "0");
  const element = $("program-video");
  element.muted = video.muted = true; // each time it is shown it starts silent
  syncVideo();
  render();
}

// Instant replay (replay.js through ProgramVideo): the program from REPLAY_BACK_S ago,
// a scrub bar over the DVR window, then back to live (WHEP again).
const REPLAY_BACK_S = 30;

function startReplay() {
  if (!program || app.video.replay) return;
  app.video.replay = true;
  program.replay(REPLAY_BACK_S, (time) => {
    const words = t(app.lang, "behindLive");
    const behind = paintScrub($("replay-scrub"), $("replay-behind"), time, words);
    document.body.dataset.replayBehindS = String(behind);
  });
  render();
}

function backToLive() {
  app.video.replay = false;
  delete document.body.dataset.replayBehindS;
  if (program) program.live();
  render();
}

function toggleSound() {
  const element = $("program-video");
  element.muted = !element.muted;
  if (!element.muted) element.play().catch(() => {});
  app.video.muted = element.muted;
  syncVideo(); // sound is a second join: a muted phone is sent no audio at all
  render();
}

function flash() {
  const el = $("flash");
  el.hidden = false;
  el.style.animation = "none";
  void el.offsetWidth; // restart the animation
  el.style.animation = "";
  vibrate([80, 60, 80, 60, 80]);
  beeper.beep(3, 1300);
}

function unlock() {
  if (app.unlocked) return;
  app.unlocked = true;
  beeper.unlock();
  wake.acquire();
  render();
}

function wireControls() {
  document.addEventListener("pointerdown", unlock, { capture: true });
  $("flash").addEventListener("animationend", () => ($("flash").hidden = true));
  $("btn-ack").addEventListener("click", acknowledge);
  $("btn-test").addEventListener("click", () => (app.test ? stopTest() : startTest()));
  $("btn-stop-test").addEventListener("click", stopTest);
  $("btn-camera").addEventListener("click", () => {
    app.choosing = !app.choosing;
    render();
  });
  $("btn-beep").addEventListener("click", () => {
    beeper.enabled = !beeper.enabled;
    localStorage.setItem(BEEP_KEY, beeper.enabled ? "1" : "0");
    if (beeper.unlock()) beeper.beep(1, 1000);
    render();
  });
  $("btn-video").addEventListener("click", toggleVideo);
  $("btn-sound").addEventListener("click", toggleSound);
  $("btn-replay").addEventListener("click", startReplay);
  $("btn-live").addEventListener("click", backToLive);
  $("replay-scrub").addEventListener("input", (event) => {
    if (program) program.seek(Number(event.target.value));
  });
  $("video-mode").addEventListener("change", (event) => {
    app.video.mode = event.target.value === "auto" ? "auto" : "low";
    localStorage.setItem(VIDEO_MODE_KEY, app.video.mode);
    syncVideo();
  });
  $("btn-lang").addEventListener("click", () => {
    app.lang = otherLanguage(app.lang);
    storeLanguage(app.lang);
    render();
  });
  $("btn-full").addEventListener("click", () => {
    const done = document.documentElement.requestFullscreen({ navigationUI: "hide" });
    if (done) done.then(render, render);
  });
  $("btn-retry").addEventListener("click", () => {
    app.error = null;
    join();
  });
  document.addEventListener("fullscreenchange", render);
  // Another link opened in this tab only changes the fragment: start over with it.
  window.addEventListener("hashchange", () => location.hash.length > 1 && location.reload());
}

// ---- the screen ----

function alertOnProgram(v) {
  if (v.stale) return;
  const was = app.liveLamp;
  app.liveLamp = v.lamp;
  if (v.lamp === "program" && was !== "program") {
    vibrate([250, 100, 250]);
    beeper.beep(2, 1000);
    if (app.test) {
      clearInterval(app.test.timer); // the real thing wins over a test
      app.test = null;
    }
  }
}

function render() {
  const v = view(app.state);
  alertOnProgram(v);
  const testLamp = app.test ? TEST_STEPS[app.test.step] : null;
  paint(app, v, { testLamp, beepOn: beeper.enabled, onChoose: chooseCamera });
}

start();
