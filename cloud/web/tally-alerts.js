// What the phone does besides colour: vibration, an optional beep, and keeping the screen on.

export function vibrate(pattern) {
  try {
    return Boolean(navigator.vibrate && navigator.vibrate(pattern));
  } catch {
    return false;
  }
}

// A beep from an oscillator: no audio file. Browsers allow sound only after a tap, so
// unlock() is called from the first pointerdown.
export class Beeper {
  constructor() {
    this.ctx = null;
    this.enabled = false;
  }

  unlock() {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return false;
    if (!this.ctx) this.ctx = new Ctx();
    if (this.ctx.state === "suspended") this.ctx.resume();
    return true;
  }

  // Short tones at `hz`, `count` times; only when enabled and unlocked.
  beep(count = 1, hz = 1000, force = false) {
    if (!(this.enabled || force) || !this.ctx) return false;
    const t0 = this.ctx.currentTime + 0.01;
    for (let i = 0; i < count; i++) {
      const osc = this.ctx.createOscillator();
      const gain = this.ctx.createGain();
      const start = t0 + i * 0.22;
      osc.frequency.value = hz;
      gain.gain.setValueAtTime(0.0001, start);
      gain.gain.exponentialRampToValueAtTime(0.4, start + 0.01);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.15);
      osc.connect(gain).connect(this.ctx.destination);
      osc.start(start);
      osc.stop(start + 0.16);
    }
    return true;
  }
}

// Keeps the screen on: the Screen Wake Lock API (secure contexts only), taken again when
// the page is visible again; else a tiny muted video from a canvas (what keeps older
// mobile browsers awake), reporting "fallback" so the page can show a hint.
export class WakeKeeper {
  constructor(onChange) {
    this.onChange = onChange;
    this.lock = null;
    this.video = null;
    this.mode = "none"; // "lock" | "fallback" | "none"
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.acquire();
    });
  }

  async acquire() {
    if (document.visibilityState !== "visible") return;
    if ("wakeLock" in navigator) {
      try {
        if (!this.lock || this.lock.released) {
          this.lock = await navigator.wakeLock.request("screen");
          this.lock.addEventListener("release", () => this._set("none"));
        }
        if (this.video) this.video.pause();
        this._set("lock");
        return;
      } catch {
        // Refused (no user gesture yet, battery saver): fall through to the video.
      }
    }
    this._set(this._playVideo() ? "fallback" : "none");
  }

  _playVideo() {
    if (!this.video) {
      const canvas = document.createElement("canvas");
      if (!canvas.captureStream) return false;
      canvas.width = canvas.height = 2;
      const paint = canvas.getContext("2d");
      const video = document.createElement("video");
      video.muted = true;
      video.loop = true;
      video.playsInline = true;
      video.setAttribute("playsinline", "");
      video.className = "keepawake";
      video.srcObject = canvas.captureStream(1);
      // The stream needs changing pixels to stay "playing".
      setInterval(() => {
        paint.fillStyle = paint.fillStyle === "#000000" ? "#010101" : "#000000";
        paint.fillRect(0, 0, 2, 2);
      }, 1000);
      document.body.appendChild(video);
      this.video = video;
    }
    const played = this.video.play();
    if (played) played.catch(() => this._set("none"));
    return true;
  }

  _set(mode) {
    if (mode !== this.mode) {
      this.mode = mode;
      this.onChange(mode);
    }
  }
}
