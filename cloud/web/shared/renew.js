// Renewing a participant token, for both pages (the phone tally page loads this only when a
// renewal is due, so a page opened and closed within half a token's life never fetches it).
//
// An invite link gates joining only: a phone or viewer that joined stays a member until the
// director removes it, revokes its link or ends the session (docs/relay.md, "Participants").
// Its token lives --participant-ttl-s (24 h by default) and is renewed past half of that, so
// an open page never holds an expired one, and an expired link does not matter to it.

const TIMEOUT_MS = 5000; // a hung request must not hold up the next try

// A join's token and times, by this device's clock, which need not agree with the server's.
export function stamp(join, token, expiresIn, now = Date.now()) {
  join.token = token;
  join.lifetimeMs = expiresIn * 1000;
  join.expiresAt = now + join.lifetimeMs;
  join.renewAt = now + join.lifetimeMs / 2;
}

// POST /api/participant/token with the current token. Resolves to "renewed" (`join` holds
// the new token; the caller saves it), "refused" (the token expired or the membership
// ended: the server says which at the next request) or "failed" (try again later).
export async function renew(join) {
  let response;
  try {
    response = await fetch("/api/participant/token", {
      method: "POST",
      headers: { Authorization: `Bearer ${join.token}` },
      cache: "no-store",
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch {
    return "failed";
  }
  if (response.status === 401 || response.status === 403) return "refused";
  const body = response.ok ? await response.json().catch(() => null) : null;
  if (!body || typeof body.participant_token !== "string") return "failed";
  stamp(join, body.participant_token, body.expires_in);
  return "renewed";
}
