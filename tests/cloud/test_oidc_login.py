"""Sign in through OpenID Connect against a real provider (oidc-provider) on loopback.

One backend is configured with several provider instances: a good one, one whose clock is
five minutes slow, one whose discovery names an issuer its tokens do not carry, and one
whose JWKS cannot be reached. The test plays the desktop app's side (RFC 8252): its own
state and PKCE, a loopback redirect it reads but never serves.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from cloud.auth.oidc import OidcClient, OidcError
from cloud.auth.oidc_config import OidcProviderConfig
from tests.support.cloud import CLI, RELAXED_RATES, CloudServer
from tests.support.oidc import CLIENT_SECRET, OidcProvider, client, sign_in
from tests.support.procs import free_port

APP = "http://127.0.0.1:9/callback"  # the app's loopback listener: read, never visited
PASSWORD = "correct horse battery staple"


@dataclass
class World:
    backend: CloudServer
    providers: dict[str, OidcProvider]
    db: Path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    work = tmp_path_factory.mktemp("oidc")
    clients = [client("rf-app"), client("rf-other", "http://127.0.0.1/callback")]
    options = {
        "good": [],
        "slow-clock": ["--clock-offset-s=-300", "--id-token-ttl-s", "60"],
        "mixup": ["--issuer", "http://issuer.invalid"],
        "no-jwks": ["--jwks-uri", f"http://127.0.0.1:{free_port()}/jwks"],
    }
    providers: dict[str, OidcProvider] = {}
    backend = None
    try:
        env = {}
        args = [*RELAXED_RATES]
        for name, extra in options.items():
            providers[name] = provider = OidcProvider(work, clients, extra)
            args += ["--oidc-provider", f"{name}={provider.url},rf-app"]
            env[f"RETURNFEED_OIDC_{name.upper().replace('-', '_')}_SECRET"] = CLIENT_SECRET
        # A provider whose discovery document nobody serves.
        args += ["--oidc-provider", f"gone=http://127.0.0.1:{free_port()},rf-app"]
        env["RETURNFEED_OIDC_GONE_SECRET"] = CLIENT_SECRET
        db = work / "returnfeed.db"
        backend = CloudServer(work, f"sqlite:///{db}", extra_args=args, env=env)
        yield World(backend, providers, db)
    finally:
        if backend is not None:
            backend.stop()
        for provider in providers.values():
            provider.stop()


@dataclass
class AppLogin:
    """The app's half of one login: its state and PKCE verifier."""

    state: str
    verifier: str

    @classmethod
    def new(cls) -> AppLogin:
        return cls(generate_token(16), generate_token(64))

    def start_url(self, world: World, provider: str) -> str:
        query = urlencode(
            {
                "redirect_uri": APP,
                "state": self.state,
                "code_challenge": create_s256_code_challenge(self.verifier),
            }
        )
        return f"{world.backend.base_url}/api/auth/oidc/{provider}/start?{query}"


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _login(world: World, provider: str, email: str) -> tuple[AppLogin, dict[str, str]]:
    """Signs in at `provider` as `email`; the query the app's loopback listener gets."""
    app = AppLogin.new()
    with httpx.Client(timeout=10) as browser:
        landed = sign_in(browser, app.start_url(world, provider), email, APP)
    answer = _query(landed)
    assert answer.pop("state") == app.state
    return app, answer


def _tokens(world: World, app: AppLogin, code: str) -> httpx.Response:
    body = {"code": code, "code_verifier": app.verifier}
    return httpx.post(f"{world.backend.base_url}/api/auth/oidc/token", json=body, timeout=10)


def _me(world: World, access: str) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {access}"}
    r = httpx.get(f"{world.backend.base_url}/api/auth/me", headers=headers, timeout=10)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _rows(world: World, email: str) -> tuple[int, int]:
    """Accounts with `email`, and identities linked to them."""
    with sqlite3.connect(world.db) as conn:
        users = conn.execute("SELECT id FROM users WHERE email = ?", (email,)).fetchall()
        linked = conn.execute(
            "SELECT count(*) FROM oidc_identities WHERE user_id IN (SELECT id FROM users "
            "WHERE email = ?)",
            (email,),
        ).fetchone()[0]
    return len(users), int(linked)


def test_the_backend_lists_its_providers(world: World) -> None:
    r = httpx.get(f"{world.backend.base_url}/api/auth/oidc/providers", timeout=10)
    assert r.json() == {"providers": sorted([*world.providers, "gone"])}


def test_first_login_makes_an_account_and_the_next_signs_in_to_it(world: World) -> None:
    app, answer = _login(world, "good", "alice@example.com")
    assert "code" in answer, answer
    r = _tokens(world, app, answer["code"])
    assert r.status_code == 200, r.text
    first = r.json()
    assert set(first) >= {"access_token", "refresh_token", "expires_in"}
    me = _me(world, first["access_token"])
    assert me["email"] == "alice@example.com"
    # The refresh token is an ordinary login's: it rotates.
    refreshed = httpx.post(
        f"{world.backend.base_url}/api/auth/refresh",
        json={"refresh_token": first["refresh_token"]},
        timeout=10,
    )
    assert refreshed.status_code == 200

    again = _tokens(world, app, answer["code"])  # the app's code works once
    assert again.status_code == 400
    assert again.json()["error"]["details"]["reason"] == "code"

    app2, answer2 = _login(world, "good", "alice@example.com")
    assert _me(world, _tokens(world, app2, answer2["code"]).json()["access_token"]) == me
    assert _rows(world, "alice@example.com") == (1, 1)


def test_a_wrong_code_verifier_gets_no_tokens(world: World) -> None:
    app, answer = _login(world, "good", "dora@example.com")
    wrong = AppLogin(app.state, generate_token(64))
    r = _tokens(world, wrong, answer["code"])
    assert r.status_code == 400
    assert r.json()["error"]["details"]["reason"] == "pkce"
    assert _tokens(world, app, answer["code"]).status_code == 200  # the app itself still can


def test_a_local_account_with_the_email_is_linked_and_its_password_ends(world: World) -> None:
    base = world.backend.base_url
    email = "bob@example.com"
    account = httpx.post(
        f"{base}/api/auth/register",
        json={"email": email, "password": PASSWORD, "display_name": "Bob"},
        timeout=10,
    ).json()
    app, answer = _login(world, "good", email)
    tokens = _tokens(world, app, answer["code"]).json()
    assert _me(world, tokens["access_token"])["id"] == account["user"]["id"]
    # Whoever registered the address first never proved the mailbox: their way in ends.
    login = httpx.post(
        f"{base}/api/auth/login", json={"email": email, "password": PASSWORD}, timeout=10
    )
    assert login.status_code == 401
    old = httpx.post(
        f"{base}/api/auth/refresh",
        json={"refresh_token": account["tokens"]["refresh_token"]},
        timeout=10,
    )
    assert old.status_code == 401
    assert _rows(world, email) == (1, 1)


def test_an_unverified_email_makes_and_links_nothing(world: World) -> None:
    email = "unverified.carol@example.com"
    _, answer = _login(world, "good", email)
    assert answer["error"] == "email_not_verified"
    assert "not verified" in answer["error_description"]
    assert _rows(world, email) == (0, 0)


def test_a_wrong_or_used_state_is_refused(world: World) -> None:
    base = world.backend.base_url
    r = httpx.get(f"{base}/api/auth/oidc/callback?state=forged&code=x", timeout=10)
    assert r.status_code == 400
    assert r.json()["error"]["details"]["reason"] == "state"

    app = AppLogin.new()
    with httpx.Client(timeout=10) as browser:
        callback = sign_in(browser, app.start_url(world, "good"), "erin@example.com", base)
        assert browser.get(callback).status_code == 303
        again = browser.get(callback)  # the same state and code once more
    assert again.status_code == 400
    assert again.json()["error"]["details"]["reason"] == "state"
    assert _rows(world, "erin@example.com") == (1, 1)


def test_a_replayed_provider_code_is_refused(world: World) -> None:
    base = world.backend.base_url
    email = "frank@example.com"
    with httpx.Client(timeout=10) as browser:
        first = sign_in(browser, AppLogin.new().start_url(world, "good"), email, base)
        assert urlsplit(browser.get(first).headers["location"]).netloc == "127.0.0.1:9"
        app = AppLogin.new()
        second = sign_in(browser, app.start_url(world, "good"), email, base)
        replay = second.replace(_query(second)["code"], _query(first)["code"])
        answer = _query(browser.get(replay).headers["location"])
    assert answer["state"] == app.state
    assert answer["error"] == "code_refused"
    assert "invalid_grant" in answer["error_description"]
    assert _rows(world, email) == (1, 1)  # only the first login's


def test_an_expired_id_token_is_refused(world: World) -> None:
    email = "gina@example.com"
    _, answer = _login(world, "slow-clock", email)
    assert answer["error"] == "expired"
    assert _rows(world, email) == (0, 0)


def test_a_token_from_another_issuer_is_refused(world: World) -> None:
    email = "hugo@example.com"
    _, answer = _login(world, "mixup", email)
    assert answer["error"] == "wrong_issuer"
    assert _rows(world, email) == (0, 0)


def test_an_unreachable_jwks_is_refused(world: World) -> None:
    email = "ines@example.com"
    _, answer = _login(world, "no-jwks", email)
    assert answer["error"] == "provider_unreachable"
    assert "JWKS" in answer["error_description"]
    assert _rows(world, email) == (0, 0)
    assert world.backend.alive()


async def test_an_id_token_for_another_client_is_refused(world: World) -> None:
    """A real ID token the provider issued to another client (rf-other)."""
    provider = world.providers["good"]
    other = OidcProviderConfig("good", provider.url, "rf-other", CLIENT_SECRET)
    ours = OidcProviderConfig("good", provider.url, "rf-app", CLIENT_SECRET)
    async with httpx.AsyncClient(timeout=10) as http:
        request = await OidcClient(other, http).request(APP)
        with httpx.Client(timeout=10) as browser:
            landed = sign_in(browser, request.url, "jack@example.com", APP)
        id_token = await OidcClient(other, http).exchange(
            _query(landed)["code"], APP, request.code_verifier
        )
        with pytest.raises(OidcError) as refused:
            await OidcClient(ours, http).verify(id_token, request.nonce)
    assert refused.value.code == "wrong_audience"
    # Its code sent to our callback is refused by the provider, and nothing is made.
    with httpx.Client(timeout=10) as browser:
        app = AppLogin.new()
        base = world.backend.base_url
        callback = sign_in(browser, app.start_url(world, "good"), "jack@example.com", base)
        injected = callback.replace(_query(callback)["code"], _other_clients_code(world, other))
        answer = _query(browser.get(injected).headers["location"])
    assert answer["error"] == "code_refused"
    assert _rows(world, "jack@example.com") == (0, 0)


def _other_clients_code(world: World, other: OidcProviderConfig) -> str:
    """A fresh code the provider issued to rf-other."""
    url = f"{world.providers['good'].url}/auth?" + urlencode(
        {
            "response_type": "code",
            "client_id": other.client_id,
            "redirect_uri": APP,
            "scope": "openid email",
            "nonce": "n" * 16,
            "code_challenge": create_s256_code_challenge("v" * 64),
            "code_challenge_method": "S256",
        }
    )
    with httpx.Client(timeout=10) as browser:
        return _query(sign_in(browser, url, "jack@example.com", APP))["code"]


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ({"redirect_uri": "https://evil.example/cb"}, 400, "redirect_uri"),
        ({"redirect_uri": "http://localhost:5000/cb"}, 400, "redirect_uri"),
        ({"code_challenge": "short"}, 400, "code_challenge"),
    ],
)
def test_start_refuses_what_is_not_an_app_on_loopback(
    world: World, query: dict[str, str], status: int, field: str
) -> None:
    base = {"redirect_uri": APP, "state": "s" * 16, "code_challenge": "c" * 43, **query}
    url = f"{world.backend.base_url}/api/auth/oidc/good/start?{urlencode(base)}"
    r = httpx.get(url, timeout=10)
    assert r.status_code == status
    assert r.json()["error"]["details"]["field"] == field


def test_a_provider_that_cannot_be_reached_gets_a_502(world: World) -> None:
    r = httpx.get(AppLogin.new().start_url(world, "gone"), timeout=10)
    assert r.status_code == 502
    assert r.json()["error"]["details"]["reason"] == "provider_unreachable"
    assert "discovery" in r.json()["error"]["message"]


def test_a_provider_without_its_secret_stops_the_start(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RETURNFEED_")}
    argv = [str(CLI), "--data-dir", str(tmp_path), "--migrate-only"]
    argv += ["--oidc-provider", "google=https://accounts.google.com,id"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "RETURNFEED_OIDC_GOOGLE_SECRET" in done.stderr


def test_an_unknown_provider_is_not_found(world: World) -> None:
    query = urlencode({"redirect_uri": APP, "state": "s" * 16, "code_challenge": "c" * 43})
    r = httpx.get(f"{world.backend.base_url}/api/auth/oidc/nope/start?{query}", timeout=10)
    assert r.status_code == 404
    assert r.json()["error"]["details"]["field"] == "provider"
