// The viewer's join: the invite link is redeemed once for a participant token, kept per
// invite so reopening the link does not join again, and renewed once past half its life.
// The invite's expiry only stops new joins; a viewer that joined stays until the director
// revokes the link or ends the session. (The phone tally page does the same in
// tally-join.js; both renew through the shared renew.js.)

import { stamp } from "./renew.js";

export { renew } from "./renew.js";

const LAST = "rf.watch.last";
const JOIN = "rf.watch.join.";
const EXPIRY_MARGIN_MS = 1000; // a token this close to expiry could lapse on the way

// The invite token from the fragment (then wiped from the address bar), else the last one.
export function inviteToken() {
  const fragment = location.hash.slice(1);
  if (fragment) {
    history.replaceState(null, "", location.pathname + location.search);
    localStorage.setItem(LAST, fragment);
    return fragment;
  }
  return localStorage.getItem(LAST);
}

export function storedJoin(invite) {
  try {
    const join = JSON.parse(localStorage.getItem(JOIN + invite) || "null");
    if (join && typeof join.token === "string" && join.expiresAt - EXPIRY_MARGIN_MS > Date.now()) {
      return join;
    }
  } catch {
    /* a damaged entry: join again */
  }
  return null;
}

export function saveJoin(invite, join) {
  localStorage.setItem(JOIN + invite, JSON.stringify(join));
}

export function forgetJoin(invite) {
  localStorage.removeItem(JOIN + invite);
}

// Past half its life; a join stored by an older page (no renewAt) is due at once.
export function renewalDue(join, now = Date.now()) {
  return !(join.renewAt > now);
}

// How often to look whether the token is due: often enough for short test lifetimes.
export function renewCheckMs(join) {
  return Math.min(Math.max((join.lifetimeMs || 0) / 8, 1000), 60000);
}

// POST /api/invites/redeem. Resolves to {join} or {error: "expired" | "revoked" | "ended" |
// "invalid"}; throws when the server cannot be reached or fails (try again).
export async function redeem(invite) {
  const r = await fetch("/api/invites/redeem", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token: invite }),
    cache: "no-store",
  });
  if (r.status === 410) {
    const body = await r.json().catch(() => null);
    const reason = body && body.error && body.error.details && body.error.details.reason;
    return { error: { expired: "expired", revoked: "revoked" }[reason] || "ended" };
  }
  if (r.status === 401 || r.status === 404 || r.status === 400 || r.status === 422) {
    return { error: "invalid" };
  }
  if (!r.ok) throw new Error(`redeem ${r.status}`);
  const body = await r.json();
  const join = { session: body.session.id };
  stamp(join, body.participant_token, body.expires_in);
  saveJoin(invite, join);
  return { join };
}
