"""Login, keyring and session choice against the real backend; no keyring means memory only."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import keyring
import pytest

from app.engine.state import ShowState
from app.engine.tally import TallyOut
from app.session_link import events as ev
from app.session_link.cloud_api import CloudApi, CloudUnreachable
from app.session_link.link import SessionLink
from app.session_link.login import Login, vault_key
from app.session_link.vault import (
    NO_KEYRING_NOTE,
    KeyringVault,
    MemoryVault,
    Vault,
    open_vault,
    usable,
)
from tests.support.api import Director, create_session, register
from tests.support.cloud import RELAXED_RATES, CloudServer
from tests.support.procs import free_port


class DictKeyring:
    """What an OS keyring does, in memory. Not a KeyringBackend subclass on purpose: keyring
    would register it and pick it as this process's keyring."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.items.pop((service, username), None)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    tmp = tmp_path_factory.mktemp("cloud")
    server = CloudServer(tmp, f"sqlite:///{tmp / 'returnfeed.db'}", RELAXED_RATES)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def director(server: CloudServer) -> Director:
    with server.client() as http:
        director = register(http)
        create_session(http, director, name="Morning show", cameras=3)
    return director


def link_with(vault: Vault) -> tuple[SessionLink, list[ev.LinkEvent]]:
    events: list[ev.LinkEvent] = []
    link = SessionLink(vault, TallyOut(), ShowState, lambda command: (), events.append)
    return link, events


def test_this_machine_has_no_keyring_so_secrets_stay_in_memory() -> None:
    vault, note = open_vault()
    if isinstance(vault, KeyringVault):
        pytest.skip("this machine has an OS keyring")
    assert isinstance(vault, MemoryVault) and note == NO_KEYRING_NOTE
    assert not usable(keyring.get_keyring())


def test_login_keeps_the_refresh_token_in_the_keyring_and_resumes_from_it(
    server: CloudServer, director: Director
) -> None:
    backend = DictKeyring()
    vault = KeyringVault(backend)

    async def scenario() -> None:
        link, events = link_with(vault)
        assert await link.login(server.base_url, director.email, director.password)
        listed = [e for e in events if isinstance(e, ev.SessionsListed)]
        assert [s.name for s in listed[-1].sessions] == ["Morning show"]
        assert list(backend.items) == [("ReturnFeed", vault_key(server.base_url))]
        assert '"refresh"' in backend.items[("ReturnFeed", vault_key(server.base_url))]
        await link.close()
        # A restart: a new link on the same keyring logs in without a password.
        again, events = link_with(vault)
        assert await again.resume(server.base_url)
        assert ev.LoginChanged(server.base_url, director.email) in events
        await again.logout()
        assert backend.items == {}  # logging out forgets the login

    asyncio.run(scenario())


def test_a_wrong_password_is_a_clear_message(server: CloudServer, director: Director) -> None:
    async def scenario() -> list[ev.LinkEvent]:
        link, events = link_with(MemoryVault())
        assert not await link.login(server.base_url, director.email, "wrong password")
        await link.close()
        return events

    events = asyncio.run(scenario())
    failed = [e for e in events if isinstance(e, ev.LinkFailed)]
    assert failed == [ev.LinkFailed("login", "email or password is wrong")]
    assert events[0] == ev.Busy("login", True) and events[-1] == ev.Busy("login", False)


def test_a_backend_that_is_not_there_says_so() -> None:
    async def scenario() -> None:
        api = CloudApi(f"http://127.0.0.1:{free_port()}")
        with pytest.raises(CloudUnreachable, match="cannot reach"):
            await Login.sign_in(api, MemoryVault(), "a@example.com", "x")
        await api.aclose()

    asyncio.run(scenario())


def test_going_live_without_a_session_is_refused_politely(
    server: CloudServer, director: Director
) -> None:
    async def scenario() -> list[ev.LinkEvent]:
        link, events = link_with(MemoryVault())
        await link.go_live()
        await link.login(server.base_url, director.email, director.password)
        await link.go_live()
        await link.close()
        return events

    failures = [e.message for e in asyncio.run(scenario()) if isinstance(e, ev.LinkFailed)]
    assert failures == [
        "Log in to the ReturnFeed cloud first.",
        "Choose or create a session first.",
    ]
