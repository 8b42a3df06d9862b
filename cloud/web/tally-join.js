// Joining a session from an invite link: the invite token arrives in the URL fragment
// (never sent to the server by the browser), is redeemed once for a participant token,
// and that token is kept per invite so reopening the link does not join again.

const LAST = "rf.tally.last";
const JOIN = "rf.tally.join.";
const TOKEN_RE = /^[A-Za-z0-9_-]{1,64}\.[A-Za-z0-9_-]{1,64}$/;
const EXPIRY_MARGIN_MS = 1000; // more left: renewed, not redeemed

// The invite token from the fragment (then wiped from the address bar, so it is not shown
// or shared by accident), else the one this phone opened last (a reload, or the home screen).
export function takeInviteToken() {
  const fragment = location.hash.slice(1);
  if (fragment) {
    history.replaceState(null, "", location.pathname + location.search);
    let token = fragment;
    try {
      token = decodeURIComponent(fragment);
    } catch {
      /* keep it as it is; it will be refused as invalid */
    }
    localStorage.setItem(LAST, token);
    return token;
  }
  return localStorage.getItem(LAST);
}

export function looksValid(invite) {
  return typeof invite === "string" && invite.length <= 128 && TOKEN_RE.test(invite);
}

function read(key) {
  try {
    return JSON.parse(localStorage.getItem(key) || "null");
  } catch {
    return null;
  }
}

export function storedJoin(invite) {
  const join = read(JOIN + invite);
  if (!join || typeof join.token !== "string") return null;
  return join.expiresAt - EXPIRY_MARGIN_MS > Date.now() ? join : null;
}

export function saveJoin(invite, join) {
  localStorage.setItem(JOIN + invite, JSON.stringify(join));
}

export function forgetJoin(invite) {
  localStorage.removeItem(JOIN + invite);
}

function failure(status, body, headers) {
  const reason = body && body.error && body.error.details && body.error.details.reason;
  if (status === 410) return { kind: ["revoked", "expired"].includes(reason) ? reason : "ended" };
  if (status === 429) {
    const after = Number(headers.get("Retry-After")) || 10;
    return { kind: "busy", retryAfter: Math.min(Math.max(after, 1), 120) };
  }
  if (status >= 500) return { kind: "unreachable" };
  return { kind: "invalid" }; // 401 bad token, 404 no such camera, 400/422 malformed
}

// POST /api/invites/redeem. Resolves to {join} or {error: {kind, retryAfter?}}.
export async function redeem(invite) {
  let response;
  try {
    response = await fetch("/api/invites/redeem", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: invite }),
      cache: "no-store",
    });
  } catch {
    return { error: { kind: "unreachable" } };
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    /* not JSON: judged by status alone */
  }
  if (response.status !== 201 || !body) {
    return { error: failure(response.status, body, response.headers) };
  }
  const join = {
    token: body.participant_token,
    expiresAt: Date.now() + body.expires_in * 1000,
    renewAt: Date.now() + body.expires_in * 500,
    sessionId: body.session.id,
    sessionName: body.session.name,
    participantId: body.participant.id,
    boundCamera: body.participant.camera_number,
    cameras: body.cameras.map((c) => ({ number: c.number, name: c.name, source: null })),
    chosenCamera: null,
  };
  saveJoin(invite, join);
  return { join };
}
