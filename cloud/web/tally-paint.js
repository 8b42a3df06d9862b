// Paints the screen from the page's state and view (tally-state.js): the DOM and nothing
// else, no network, no timers, no sound.

import { t } from "./tally-i18n.js";

const $ = (id) => document.getElementById(id);
const COLOURS = { program: "#e3051b", preview: "#00b34a", off: "#121212", stale: "#222222" };

function cameraList(app) {
  return app.state.cameras.length ? app.state.cameras : (app.join && app.join.cameras) || [];
}

// Error kind -> [title, text]; the others (revoked, expired, ended) are their own title.
const ERROR_TEXTS = {
  nolink: ["invalid", "noLink"],
  invalid: ["invalid", "invalidBody"],
  busy: ["busy", "busyBody"],
  unreachable: ["unreachable", "unreachableBody"],
};

// Program video state -> what the box says over the picture (nothing while playing).
const VIDEO_TEXTS = {
  off: "videoConnecting",
  connecting: "videoConnecting",
  waiting: "videoWaiting",
  failed: "videoFailed",
  denied: "videoDenied",
};

function errorText(app, error) {
  const [title, text] = ERROR_TEXTS[error.kind] || [error.kind, "goneBody"];
  return [t(app.lang, title), t(app.lang, text, { s: error.retryAfter })];
}

export function paint(app, v, { testLamp, beepOn, onChoose }) {
  const L = (key) => t(app.lang, key);
  const testing = testLamp !== null;
  const lamp = testing ? testLamp : v.lamp;
  const stale = !testing && v.stale;
  const unbound = Boolean(app.join) && app.join.boundCamera === null;
  // A camera the session no longer has: an open link chooses again.
  const gone =
    v.everSynced && v.camera !== null && !app.state.cameras.some((c) => c.number === v.camera);
  const mustChoose = unbound && (v.camera === null || gone);
  const choosing = !app.error && Boolean(app.join) && (app.choosing || mustChoose);
  const message = !app.error && !choosing && !testing ? v.message : null;
  const known = cameraList(app).find((c) => c.number === v.camera);

  document.documentElement.lang = app.lang;
  const body = document.body;
  body.className = `lamp-${lamp}`;
  body.classList.toggle("stale", stale);
  body.classList.toggle("overlaid", Boolean(app.error || choosing || message));
  body.dataset.lamp = lamp;
  body.dataset.seq = String(app.state.seq ?? "");
  body.dataset.state = app.error ? "error" : testing ? "test" : stale ? "stale" : "live";
  document.querySelector('meta[name="theme-color"]').content = COLOURS[stale ? "stale" : lamp];

  $("session").textContent = (app.join && app.join.sessionName) || "ReturnFeed";
  $("number").textContent = v.camera === null ? "–" : String(v.camera);
  const fallbackName = v.camera !== null ? `${L("camera")} ${v.camera}` : "";
  $("name").textContent = gone ? L("noCamera") : v.name || (known && known.name) || fallbackName;
  $("label").textContent = L(lamp);
  document.title = `${stale ? "…" : L(lamp)} · ${$("name").textContent || "ReturnFeed"}`;

  $("stale-title").textContent = v.everSynced ? L("lost") : L("connecting");
  $("stale-last").classList.toggle("none", !v.everSynced);
  $("stale-swatch").className = `swatch ${v.lamp}`;
  $("stale-text").textContent = `${L("lastKnown")} ${L(v.lamp)}`;

  $("btn-camera").hidden = !unbound;
  $("btn-camera").textContent = `${L("change")} ▾`;
  $("btn-test").textContent = L("test");
  $("btn-test").setAttribute("aria-pressed", String(testing));
  $("btn-beep").textContent = beepOn ? `♪ ${L("beepOn")}` : L("beepOff");
  $("btn-beep").setAttribute("aria-pressed", String(beepOn));
  $("btn-lang").textContent = L("language");
  paintVideo(app.video, L);
  $("btn-full").hidden = !document.fullscreenEnabled || Boolean(document.fullscreenElement);
  $("btn-full").title = L("fullscreen");
  $("btn-full").setAttribute("aria-label", L("fullscreen"));

  // http:// on a LAN address: no Wake Lock API.
  const insecure = !isSecureContext && Boolean(app.join);
  body.dataset.wake = app.wake;
  const tap = app.unlocked ? "" : L("tapHint");
  const awake = app.wake !== "lock" && app.join && !tap ? L("awakeHint") : "";
  const hint = [insecure ? L("insecureHint") : awake, tap].filter(Boolean).join(" · ");
  $("hint").classList.toggle("insecure", insecure);
  $("hint").textContent = hint;
  $("hint").hidden = !hint || testing;

  $("test-banner").hidden = !testing;
  $("test-text").textContent = L("testBanner");
  $("btn-stop-test").textContent = L("stopTest");

  $("chooser").hidden = !choosing;
  if (choosing) paintChooser(app, L, onChoose);

  $("message").hidden = !message;
  if (message) {
    // The face is hidden behind the card: the card repeats the lamp in words.
    const who = v.camera === null ? "" : ` · ${v.camera}`;
    $("message-lamp").textContent = (stale ? "…" : L(lamp)) + who;
    $("message-lamp").className = `lamp-chip ${stale ? "" : lamp}`;
    $("message-from").textContent = L("fromDirector");
    $("message-text").textContent = message.text;
    $("btn-ack").textContent = L("ack");
  }

  $("error").hidden = !app.error;
  if (app.error) {
    const [title, text] = errorText(app, app.error);
    $("error-title").textContent = title;
    $("error-body").textContent = text;
    $("btn-retry").hidden = app.error.kind !== "unreachable";
    $("btn-retry").textContent = L("retry");
  }
}

// The program video sits in a thick frame of the lamp colour (tally.css), under the words.
function paintVideo(video, L) {
  document.body.classList.toggle("video", video.on);
  $("btn-video").title = L("programVideo");
  $("btn-video").setAttribute("aria-label", L("programVideo"));
  $("btn-video").setAttribute("aria-pressed", String(video.on));
  $("program").hidden = !video.on;
  if (!video.on) return;
  $("program").dataset.state = video.state;
  $("program-state").textContent = VIDEO_TEXTS[video.state] ? L(VIDEO_TEXTS[video.state]) : "";
  const mode = $("video-mode");
  const loOnly = video.ceiling === "lo"; // the link's ceiling: auto is not included
  mode.options[0].textContent = L("videoLow");
  mode.options[1].textContent = loOnly ? `${L("videoAuto")}: ${L("notIncluded")}` : L("videoAuto");
  mode.options[1].disabled = loOnly;
  mode.setAttribute("aria-label", L("videoQuality"));
  mode.title = loOnly ? L("loOnly") : "";
  mode.value = loOnly ? "low" : video.mode;
  $("program").dataset.ceiling = video.ceiling || "";
  $("btn-replay").textContent = L("replay");
  $("btn-replay").hidden = Boolean(video.replay) || video.state !== "playing";
  $("replay-bar").hidden = !video.replay;
  $("btn-live").textContent = L("backToLive");
  $("btn-sound").textContent = `♪ ${L("sound")}`;
  $("btn-sound").setAttribute("aria-pressed", String(!video.muted));
}

function paintChooser(app, L, onChoose) {
  $("chooser-title").textContent = L("choose");
  const list = $("chooser-list");
  const cameras = cameraList(app);
  const key = JSON.stringify([app.lang, app.state.camera, cameras.map((c) => [c.number, c.name])]);
  if (list.dataset.key === key) return; // unchanged: keep the buttons (and focus) as they are
  list.dataset.key = key;
  list.replaceChildren(
    ...cameras.map((c) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = c.number === app.state.camera ? "current" : "";
      b.dataset.camera = String(c.number);
      const n = document.createElement("span");
      n.className = "n";
      n.textContent = String(c.number);
      const name = document.createElement("span");
      name.className = "t";
      name.textContent = c.name;
      b.append(n, name);
      b.addEventListener("click", () => onChoose(c.number));
      return b;
    }),
  );
}
