// Renewing the participant token; tally.js loads this when one is due, so a page that
// is opened and closed within half a token's life never downloads it.
//
// An invite link gates joining only: a phone that joined stays a member until the director
// removes it, revokes its link or ends the session (docs/relay.md, "Participants"). Its
// token lives --participant-ttl-s (24 h by default) and is renewed past half of that, so an
// open phone never holds an expired one, and an expired link does not matter to it.

const TIMEOUT_MS = 5000; // a hung request must not hold up the next try

// POST /api/participant/token with the current token. Resolves to "renewed" (`join` holds
// the new token; the caller saves it), "refused" (the token expired or access ended: the
// relay says which at the next connect) or "failed" (unreachable: try again later).
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
  // By this phone's clock, as the join's times are: it need not agree with the server's.
  const now = Date.now();
  join.token = body.participant_token;
  join.expiresAt = now + body.expires_in * 1000;
  join.renewAt = now + body.expires_in * 500;
  return "renewed";
}
