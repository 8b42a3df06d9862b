// Instant replay: the session's recording over HLS (hls.js, loaded on first use) in the
// page's <video>, scrubbed over the DVR window (the last 10 minutes the backend lists),
// then back to live. The page stops its WHEP player before and starts it again after.

const HLS_SCRIPT = new URL("./hls.light.min.js", import.meta.url).href;
let loading = null;

// hls.js is a classic script (UMD): added once, as a same-origin <script> the CSP allows.
function loadHls() {
  loading ||= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = HLS_SCRIPT;
    script.onload = () => resolve(window.Hls);
    script.onerror = () => {
      loading = null;
      reject(new Error("hls.js did not load"));
    };
    document.head.append(script);
  });
  return loading;
}

export class Replay {
  // video: the <video>; session; token() -> the participant token to send now;
  // onState("loading" | "playing" | "failed"); onTime({start, end, at}) in seconds of the
  // window as the video plays or is scrubbed.
  constructor(video, options) {
    this.video = video;
    this.session = options.session;
    this.token = options.token;
    this.onState = options.onState || (() => {});
    this.onTime = options.onTime || (() => {});
    this.hls = null;
    this.stopped = false;
    this._tick = () => this._time();
  }

  // Plays from `backS` seconds behind the newest recorded moment.
  async start(backS) {
    this.onState("loading");
    let Hls;
    try {
      Hls = await loadHls();
    } catch {
      this.onState("failed");
      return;
    }
    if (this.stopped) return; // back to live while hls.js was loading
    // No worker: it would start from a blob: URL, which the page's CSP forbids.
    const hls = new Hls({
      enableWorker: false,
      xhrSetup: (xhr) => xhr.setRequestHeader("Authorization", `Bearer ${this.token()}`),
    });
    this.hls = hls;
    hls.on(Hls.Events.ERROR, (_event, data) => {
      if (data.fatal) this.onState("failed");
    });
    // A window whose first segment starts after 0 could leave the video parked at 0, before
    // its first buffered frame, where hls.js does not jump and "playing" never comes.
    hls.on(Hls.Events.FRAG_BUFFERED, () => {
      const b = this.video.buffered;
      if (this.hls === hls && b.length && this.video.currentTime < b.start(0)) {
        this.video.currentTime = b.start(0);
      }
    });
    this.video.srcObject = null;
    hls.attachMedia(this.video);
    hls.loadSource(`/hls/${encodeURIComponent(this.session)}/index.m3u8`);
    this.video.addEventListener("timeupdate", this._tick);
    // hls.js starts near the live edge; once it plays, go back as asked.
    this.video.addEventListener(
      "playing",
      () => {
        if (this.hls !== hls) return;
        const w = this.window();
        if (w) this.seek(w.end - backS);
        this.onState("playing");
      },
      { once: true },
    );
    this.video.play().catch(() => {});
  }

  // The window the video can play now: [start, end] in its own seconds.
  window() {
    const s = this.video.seekable;
    return s.length ? { start: s.start(0), end: s.end(s.length - 1) } : null;
  }

  seek(at) {
    const w = this.window();
    if (!w) return;
    this.video.currentTime = Math.min(w.end, Math.max(w.start, at));
    this._time();
  }

  _time() {
    const w = this.window();
    if (w) this.onTime({ ...w, at: this.video.currentTime });
  }

  stop() {
    this.stopped = true;
    this.video.removeEventListener("timeupdate", this._tick);
    if (this.hls) this.hls.destroy();
    this.hls = null;
    this.video.removeAttribute("src");
    this.video.load();
  }
}

// Shows the replay's window on a range input and a label ("−0:42 <behindWord>"); returns
// how many whole seconds behind live the video is.
export function paintScrub(scrub, label, { start, end, at }, behindWord) {
  scrub.min = String(start);
  scrub.max = String(end);
  if (document.activeElement !== scrub) scrub.value = String(at);
  const behind = Math.max(0, Math.round(end - at));
  const clock = `${Math.floor(behind / 60)}:${String(behind % 60).padStart(2, "0")}`;
  label.textContent = `−${clock} ${behindWord}`;
  return behind;
}
