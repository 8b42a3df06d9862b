// The tally page's state: a pure reducer, (state, message) -> state, with no DOM and no I/O.
// Relay messages (docs/relay.md) and the page's own events ("local.*") both come through
// reduce(); view() says what the screen must show. Lamps are never derived here: the relay
// derives them (tally/lamps.py) and the page only displays them.

const MAX_MESSAGES = 5;

export function initialState(camera = null) {
  return {
    seq: null, // last seq applied; null until the first snapshot
    bus: { program: [], preview: [] },
    cameras: [], // [{number, name, source}], from the last snapshot
    liveOnly: false,
    lamps: {}, // camera number -> "program" | "preview" | "off"
    camera, // this phone's camera number, null until chosen
    link: "connecting", // "connecting" | "open" | "closed"
    synced: false, // a snapshot arrived on the current connection
    needSnapshot: false, // a seq gap was seen: ask for a snapshot
    messages: [], // director messages not yet acknowledged, oldest first
    flashes: 0, // bumped on every flash for this camera
    error: null, // the last `error` the relay sent: {code, message}
  };
}

function forMe(state, camera) {
  return camera === null || camera === undefined || camera === state.camera;
}

function lampTable(lamps) {
  const table = {};
  for (const entry of lamps || []) table[entry.camera] = entry.lamp;
  return table;
}

function snapshot(state, msg) {
  return {
    ...state,
    seq: msg.seq,
    bus: msg.state.bus,
    cameras: msg.state.cameras,
    liveOnly: msg.state.live_only,
    lamps: lampTable(msg.lamps),
    synced: state.link === "open",
    needSnapshot: false,
  };
}

function delta(state, msg) {
  if (state.seq === null || msg.seq <= state.seq) return state; // before a snapshot, or old
  if (msg.seq !== state.seq + 1) return { ...state, needSnapshot: true }; // missed one
  return {
    ...state,
    seq: msg.seq,
    bus: msg.bus || state.bus,
    lamps: { ...state.lamps, ...lampTable(msg.lamps) },
  };
}

function lamp(state, msg) {
  // One camera's lamp as of msg.seq; an older one than what we have is stale.
  if (state.seq !== null && msg.seq < state.seq) return state;
  return { ...state, lamps: { ...state.lamps, [msg.camera]: msg.lamp } };
}

function message(state, msg) {
  if (!forMe(state, msg.camera) || state.messages.some((m) => m.id === msg.id)) return state;
  const kept = [...state.messages, { id: msg.id, camera: msg.camera, text: msg.text }];
  return { ...state, messages: kept.slice(-MAX_MESSAGES) };
}

function link(state, status) {
  return { ...state, link: status, synced: false, needSnapshot: false };
}

const HANDLERS = {
  snapshot,
  delta,
  lamp,
  message,
  flash: (s, m) => (forMe(s, m.camera) ? { ...s, flashes: s.flashes + 1 } : s),
  assign: (s, m) => ({ ...s, camera: m.camera }),
  error: (s, m) => ({ ...s, error: { code: m.code, message: m.message } }),
  "local.link": (s, m) => link(s, m.status),
  "local.choose": (s, m) => ({ ...s, camera: m.camera }),
  "local.ack": (s, m) => ({ ...s, messages: s.messages.filter((x) => x.id !== m.id) }),
  "local.snapshot_requested": (s) => ({ ...s, needSnapshot: false }),
};

// Anything else (heartbeat, and messages meant for the director) changes nothing.
export function reduce(state, msg) {
  const handler = msg && HANDLERS[msg.type];
  return handler ? handler(state, msg) : state;
}

export function cameraInfo(state, number = state.camera) {
  return state.cameras.find((c) => c.number === number) || null;
}

// The lamp to show for this phone's camera: live-only never shows preview, because
// talent reads green as "go".
export function displayLamp(state) {
  const value = state.camera === null ? undefined : state.lamps[state.camera];
  if (value === "program") return "program";
  if (value === "preview" && !state.liveOnly) return "preview";
  return "off";
}

// What the screen shows. "stale" means: not sure of the live state, so never the live
// colour; `lamp` is then the last known lamp, shown dimmed.
export function view(state) {
  return {
    lamp: displayLamp(state),
    stale: !(state.link === "open" && state.synced),
    everSynced: state.seq !== null,
    camera: state.camera,
    name: (cameraInfo(state) || {}).name || null,
    message: state.messages[0] || null,
  };
}
