// The program under the tally colour, when the operator asks for it. Loaded only then
// (tally.js imports it on demand), so a phone that never shows video never downloads it.
// One WHEP player (whep.js, the viewer page's too) that runs only while the page is shown:
// a hidden page leaves the gateway (DELETE), so a phone in a pocket takes no stream, and
// joins again when it is shown.

import { Replay } from "./replay.js";
import { WhepPlayer } from "./whep.js";

export class ProgramVideo {
  // onState(state): "off" | "connecting" | "waiting" | "playing" | "failed" | "denied";
  // onQuality({ceiling, reason}): what this phone's link lets it watch (whep.js).
  constructor(video, onState, onQuality) {
    this.video = video;
    this.onState = onState;
    this.onQuality = onQuality || (() => {});
    this.join = null; // what to watch with: null while the video is off
    this.mode = "low";
    this.sound = false; // muted: the offer has no audio, so the phone pays for none
    this.player = null;
    this.replaying = null; // the Replay while the operator looks back (WHEP left)
    document.addEventListener("visibilitychange", () => this._sync());
    addEventListener("pagehide", () => this._stop());
    addEventListener("pageshow", () => this._sync()); // back from the back-forward cache
  }

  // join: the page's join ({sessionId, token}) to watch with, or null for no video;
  // sound: whether the operator unmuted it (joins again, with audio, when it changes).
  want(join, mode, sound) {
    this.join = join;
    this.sound = sound;
    if (mode !== this.mode) {
      this.mode = mode;
      if (this.player) this.player.applyMode();
    }
    this._sync();
  }

  // Instant replay: leave WHEP and play the recording from `backS` behind (replay.js);
  // onTime({start, end, at}) as it plays. live() comes back.
  replay(backS, onTime) {
    if (!this.join || this.replaying) return;
    this._stop();
    const states = { loading: "connecting", playing: "replay", failed: "failed" };
    this.replaying = new Replay(this.video, {
      session: this.join.sessionId,
      token: () => this.join.token,
      onState: (state) => this.onState(states[state]),
      onTime,
    });
    this.replaying.start(backS);
  }

  seek(at) {
    if (this.replaying) this.replaying.seek(at);
  }

  live() {
    if (!this.replaying) return;
    this.replaying.stop();
    this.replaying = null;
    this._sync();
  }

  _sync() {
    if (this.replaying) {
      if (this.join) return; // WHEP waits for live()
      this.live(); // the video was switched off
      return;
    }
    const join = document.visibilityState === "visible" ? this.join : null;
    const p = this.player;
    // A new participant (the link was redeemed again) needs a player of its own, and so
    // does sound: the gateway cannot add audio to a picture-only connection. A renewed
    // token of the same participant only replaces the one the player sends.
    const same = p && join && p.participant === join.participantId && p.session === join.sessionId;
    if (same && p.audio === this.sound) {
      p.token = join.token;
      return;
    }
    this._stop();
    if (!join) return;
    this.player = new WhepPlayer(this.video, {
      participant: join.participantId,
      session: join.sessionId,
      token: join.token,
      mode: () => this.mode,
      audio: this.sound,
      onShow: (state) => this.onState(state),
      onDenied: () => this.onState("denied"),
      onQuality: (quality) => this.onQuality(quality),
    });
    this.player.start();
  }

  _stop() {
    if (!this.player) return;
    this.player.stop();
    this.player = null;
    this.onState("off");
  }
}
