// One WebSocket to the relay (docs/relay.md) that keeps itself alive: hello on open,
// a heartbeat every 3 s, dead after 10 s of silence, reconnects with capped exponential
// backoff and jitter. Close codes that no retry can fix end it for good.

export const HEARTBEAT_MS = 3000;
export const SILENCE_MS = 10000;
// 1-2 s between attempts at most: a restarted backend has its phones back about that soon.
export const MAX_BACKOFF_MS = 2000;
export const FINAL_CODES = new Set([4401, 4403, 4404]);

export function backoff(attempt, random = Math.random) {
  const cap = Math.min(MAX_BACKOFF_MS, 250 * 2 ** attempt);
  return Math.round(cap / 2 + (random() * cap) / 2);
}

export class RelayLink {
  // handlers: {hello() -> message, onStatus(status), onMessage(msg), onFinal(code, reason)}
  constructor(url, token, handlers) {
    this.url = url;
    this.token = token;
    this.h = handlers;
    this.ws = null;
    this.attempt = 0;
    this.timers = [];
    this.stopped = false;
  }

  start() {
    this.stopped = false;
    this._open();
  }

  stop() {
    this.stopped = true;
    this._drop(1000, "bye");
  }

  // Close and reconnect at once, e.g. to send a new hello after choosing a camera.
  restart() {
    this.attempt = 0;
    this._drop(1000, "restart");
    if (!this.stopped) this._open();
  }

  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ v: 1, ...msg }));
      return true;
    }
    return false;
  }

  synced() {
    this.attempt = 0; // a snapshot arrived: the next loss starts the backoff afresh
  }

  _open() {
    this._clearTimers();
    this.h.onStatus("connecting");
    let ws;
    try {
      ws = new WebSocket(this.url, ["returnfeed.v1", "bearer." + this.token]);
    } catch {
      this._retry();
      return;
    }
    this.ws = ws;
    let heard = Date.now();
    ws.onopen = () => {
      heard = Date.now();
      this.h.onStatus("open");
      this.send(this.h.hello());
      this.timers.push(
        setInterval(() => {
          if (Date.now() - heard > SILENCE_MS) this._lost(ws);
          else this.send({ type: "heartbeat", ts: Date.now() });
        }, HEARTBEAT_MS),
      );
    };
    ws.onmessage = (event) => {
      heard = Date.now();
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch {
        return;
      }
      if (msg && typeof msg.type === "string") this.h.onMessage(msg);
    };
    ws.onclose = (event) => {
      if (ws !== this.ws) return; // an old socket we already gave up on
      this.ws = null;
      this._clearTimers();
      if (FINAL_CODES.has(event.code)) {
        this.h.onStatus("closed");
        this.h.onFinal(event.code, event.reason);
      } else {
        this._retry();
      }
    };
  }

  _lost(ws) {
    if (ws !== this.ws) return;
    this._drop(4000, "silent");
    this._retry();
  }

  _retry() {
    this.h.onStatus("closed");
    if (this.stopped) return;
    const delay = backoff(this.attempt++);
    this.timers.push(setTimeout(() => this._open(), delay));
  }

  _drop(code, reason) {
    const ws = this.ws;
    this.ws = null;
    this._clearTimers();
    if (ws) {
      ws.onclose = ws.onmessage = ws.onopen = null;
      try {
        ws.close(code, reason);
      } catch {
        /* already closed */
      }
    }
  }

  _clearTimers() {
    for (const t of this.timers) {
      clearInterval(t);
      clearTimeout(t);
    }
    this.timers = [];
  }
}
