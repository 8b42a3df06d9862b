// The program over WHEP, for every page that plays it (the viewer page and the phone tally
// page): one POST with a complete offer (the server does not trickle), DELETE to leave,
// the quality mode on the resource, and a loop that waits for a publisher, rejoins after
// a loss and starts over when nothing decodes. The page owns the words and the controls;
// this module owns the connection and reports what it shows and measures.

const POLL_MS = 2000;
const STALL_MS = 6000;
// After losing a stream: look again after 0.5 s, doubling to POLL_MS while the backend is
// unreachable (jittered, so viewers do not return in step), for RECOVER_MS.
const RECOVER_MS = 30000;
// A peer (it lives in the backend) whose ICE link went quiet this long with no frames is
// gone: the backend restarted or died, so join again rather than wait out STALL_MS.
const LOST_MS = 1500;

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
// the picture now: unless the viewer chose lip sync, put the audio in a stream of its own, so
// each plays as early as it can, and the sound lags the picture by a few tens of ms
// (bench/av_sync.py measures both; docs/BENCHMARKS.md, "Lip sync").
function unsynced(sdp) {
  return sdp
    .split(/\r\n(?=m=)/)
    .map((section) =>
      section.startsWith("m=audio") ? section.replace(/^a=msid:\S+ /m, "a=msid:rf-audio ") : section,
    )
    .join("\r\n");
}

// "relay" makes the browser send everything through a TURN server: a way to check that the
// TURN setup works (open the page with ?ice=relay), and what the relay tests use.
function policyFromPage() {
  const asked = new URLSearchParams(window.location.search).get("ice");
  return asked === "relay" ? "relay" : "all";
}

function denied() {
  return Object.assign(new Error("denied"), { denied: true });
}

export class WhepPlayer {
  // video: the <video> element. options: session, token, mode() -> "auto"|"high"|"low",
  // audio (default true: false offers the picture only, and the gateway sends no Opus),
  // onShow(name) with "connecting" | "waiting" | "playing" | "failed", onStats(stats) after
  // each look at getStats, onDenied() once the token is refused (the player has stopped),
  // freshToken() -> the token to use now, or a promise of it, asked before each look at the
  // server (a page that renews its participant token passes it; `token` may also be set at
  // any time), participant: whose token it is (kept for the page), lipSync (default false:
  // the picture never waits for the sound; true: Chromium plays them in sync, later),
  // iceTransportPolicy ("all", or "relay": TURN only; default: the page's ?ice=),
  // onQuality({ceiling, reason}) when the server first says (or changes) what this link's
  // viewers may have: "auto", or "lo" only (the page then offers low only, and says why).
  constructor(video, options) {
    this.video = video;
    this.session = options.session;
    this.token = options.token;
    this.freshToken = options.freshToken || null;
    this.participant = options.participant || null;
    this.mode = options.mode || (() => "auto");
    this.audio = options.audio !== false;
    this.lipSync = options.lipSync === true;
    this.iceTransportPolicy = options.iceTransportPolicy || policyFromPage();
    this.onShow = options.onShow || (() => {});
    this.onStats = options.onStats || (() => {});
    this.onDenied = options.onDenied || (() => {});
    this.onQuality = options.onQuality || (() => {});
    this.ceiling = null;
    this.shown = null;
    this.pc = null;
    this.location = null;
    this.iceServers = [];
    this.timer = null;
    this.run = 0; // bumped by start() and stop(): a tick of an older run does nothing more
    this.running = false;
    this.generation = 0; // bumped per connection: events of an older one are ignored
    this.live = false;
    this.lastFrames = 0;
    this.lastBytes = 0;
    this.lastAt = 0;
    this.stalledSince = 0;
    this.lostAt = 0;
    this.failures = 0;
  }

  start() {
    if (this.running) return;
    this.running = true;
    const run = ++this.run;
    this._show("connecting");
    this._tick(run);
  }

  // Lip sync on or off. It is a property of the answer (one stream or two), so a playing
  // player joins again with it.
  setLipSync(on) {
    if (this.lipSync === on) return;
    this.lipSync = on;
    if (this.running) {
      this.stop();
      this.start();
    }
  }

  // Leaves the gateway (DELETE) and stops looking; start() joins again.
  stop() {
    this.running = false;
    this.run++;
    clearTimeout(this.timer);
    this.leave();
    this.video.srcObject = null;
  }

  // The mode now chosen, to the server; the next connection sends it again by itself.
  async applyMode() {
    if (!this.location) return;
    await fetch(`${this.location}/quality`, {
      method: "POST",
      headers: this._auth({ "Content-Type": "application/json" }),
      body: JSON.stringify({ mode: this.mode() }),
    }).catch(() => {});
  }

  leave() {
    const pc = this.pc;
    const where = this.location;
    this.pc = null;
    this.location = null;
    this.generation++;
    if (pc) pc.close();
    // keepalive: a page that is going away still tells the gateway, which frees the viewer.
    if (where) this._delete(where);
  }

  _delete(where) {
    fetch(where, { method: "DELETE", headers: this._auth(), keepalive: true }).catch(() => {});
  }

  _show(name) {
    this.shown = name;
    this.onShow(name);
  }

  _auth(extra) {
    return { Authorization: `Bearer ${this.token}`, ...(extra || {}) };
  }

  async _status() {
    const r = await fetch(`/whep/${this.session}/status`, { headers: this._auth() });
    if (r.status === 401 || r.status === 403) throw denied();
    if (!r.ok) return false;
    const body = await r.json();
    this.iceServers = Array.isArray(body.ice_servers) ? body.ice_servers : [];
    const quality = body.quality;
    if (quality && quality.ceiling !== this.ceiling) {
      this.ceiling = quality.ceiling;
      this.onQuality(quality);
    }
    return body.live;
  }

  async _connect() {
    const pc = new RTCPeerConnection({
      iceServers: this.iceServers,
      iceTransportPolicy: this.iceTransportPolicy,
    });
    const generation = ++this.generation;
    const video = this.video;
    this.pc = pc;
    pc.addTransceiver("video", { direction: "recvonly" });
    if (this.audio) pc.addTransceiver("audio", { direction: "recvonly" });
    for (const transceiver of pc.getTransceivers()) lowLatency(transceiver.receiver);
    const stream = new MediaStream();
    pc.addEventListener("track", (event) => {
      lowLatency(event.receiver);
      stream.addTrack(event.track);
      video.srcObject = stream;
      video.play().catch(() => {});
    });
    pc.addEventListener("connectionstatechange", () => {
      if (generation === this.generation && ["failed", "closed"].includes(pc.connectionState)) {
        this._restart("failed");
      }
    });
    // Show the picture the moment its first frame is presented, not at the next stats tick.
    if ("requestVideoFrameCallback" in video) {
      video.requestVideoFrameCallback(() => {
        if (generation !== this.generation) return;
        this.stalledSince = Date.now();
        this._show("playing");
      });
    }
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc, this.iceServers.length > 0);
    if (generation !== this.generation) return false; // stopped meanwhile: nothing to offer
    // The chosen mode rides on the offer, so the first keyframe and frames are that layer's.
    const mode = this.mode();
    const r = await fetch(`/whep/${this.session}?mode=${encodeURIComponent(mode)}`, {
      method: "POST",
      headers: this._auth({ "Content-Type": "application/sdp" }),
      body: pc.localDescription.sdp,
    });
    if (generation !== this.generation) {
      // Stopped while the offer was out (the page was hidden, the video switched off):
      // the viewer the gateway made for it goes at once.
      pc.close();
      if (r.status === 201) this._delete(r.headers.get("Location"));
      return false;
    }
    if (r.status !== 201) {
      pc.close();
      this.pc = null;
      if (r.status === 401 || r.status === 403) throw denied();
      return false;
    }
    this.location = r.headers.get("Location");
    const answer = await r.text();
    await pc.setRemoteDescription({ type: "answer", sdp: this.lipSync ? answer : unsynced(answer) });
    this.stalledSince = Date.now();
    this.lastFrames = 0;
    this.lastAt = 0;
    if (this.mode() !== mode) this.applyMode(); // changed while the offer was out
    return true;
  }

  _restart(why) {
    this.leave();
    this.lostAt = Date.now();
    this._show(why === "failed" ? "failed" : "waiting");
  }

  async _readStats() {
    const pc = this.pc;
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
    const stats = { audioPackets: a ? a.packetsReceived || 0 : null, video: null };
    if (v) {
      const frames = v.framesDecoded || 0;
      const kbps = this.lastAt ? ((v.bytesReceived - this.lastBytes) * 8) / (now - this.lastAt) : 0;
      this.lastBytes = v.bytesReceived;
      this.lastAt = now;
      if (frames > this.lastFrames) {
        this.lastFrames = frames;
        this.stalledSince = now;
        if (this.live) this._show("playing");
      }
      const buffer = v.jitterBufferEmittedCount ? v.jitterBufferDelay / v.jitterBufferEmittedCount : 0;
      const rtt = pair && pair.currentRoundTripTime ? pair.currentRoundTripTime : 0;
      const height = v.frameHeight || 0;
      stats.video = {
        frames,
        kbps: Math.max(0, Math.round(kbps)),
        latencyMs: Math.round((buffer + rtt / 2) * 1000),
        width: v.frameWidth || 0,
        height,
        layer: height >= 300 ? "hi" : height ? "lo" : "",
      };
    }
    this.onStats(stats);
  }

  async _tick(run) {
    try {
      if (this.freshToken) this.token = await this.freshToken();
      if (run !== this.run) return;
      this.live = await this._status();
      if (run !== this.run) return;
      this.failures = 0;
      if (this.pc && this._peerGone()) this._restart("failed");
      if (!this.live) {
        if (this.shown !== "failed" || !this.pc) this._show("waiting");
      } else if (!this.pc) {
        this._show("connecting");
        if (!(await this._connect())) {
          if (run !== this.run) return;
          this._show("waiting");
        }
      } else if (Date.now() - this.stalledSince > STALL_MS) {
        this._restart("failed"); // live, yet nothing decodes: start over
      }
      await this._readStats();
    } catch (err) {
      if (run !== this.run) return;
      if (err.denied) {
        this.stop();
        this.onDenied();
        return;
      }
      this._show("failed");
      this.failures++;
      // The backend is unreachable: if our stream stopped too, its peer went with it.
      await this._readStats().catch(() => {});
      if (this.pc && Date.now() - this.stalledSince > LOST_MS) this._restart("failed");
    }
    if (run !== this.run) return;
    this.timer = setTimeout(() => this._tick(run), this._nextTick());
  }

  _peerGone() {
    const quiet = ["disconnected", "failed"].includes(this.pc.connectionState);
    return quiet && Date.now() - this.stalledSince > LOST_MS;
  }

  _nextTick() {
    if (this.pc && this.live) return 1000;
    const recovering = Date.now() - this.lostAt < RECOVER_MS;
    const base = recovering ? Math.min(POLL_MS, 500 * 2 ** this.failures) : POLL_MS;
    return base * (0.8 + Math.random() * 0.4);
  }
}
