"""A real OpenID Connect provider on loopback (panva's oidc-provider, provider.mjs), and a
user signing in through its pages with httpx."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urljoin

import httpx

from tests.support.cloud import RELAXED_RATES, CloudServer
from tests.support.procs import Proc, ProcessFailed, wait_until

HERE = Path(__file__).parent
CLIENT_SECRET = "oidc-client-secret-for-tests-only"
# A native client may use any port on a loopback redirect (RFC 8252 7.3, and so does
# oidc-provider), so the provider can start before the backend has picked its port.
CALLBACK = "http://127.0.0.1/api/auth/oidc/callback"


def client(client_id: str, redirect_uri: str = CALLBACK) -> dict[str, object]:
    return {
        "client_id": client_id,
        "client_secret": CLIENT_SECRET,
        "application_type": "native",
        "redirect_uris": [redirect_uri],
        "token_endpoint_auth_method": "client_secret_basic",
    }


class OidcProvider:
    """`node provider.mjs` with `options` (see its header), serving `clients`."""

    def __init__(
        self, workdir: Path, clients: list[dict[str, object]], options: list[str] | None = None
    ) -> None:
        node = shutil.which("node")
        if node is None or not (HERE / "node_modules" / "oidc-provider").is_dir():
            raise ProcessFailed(
                "the test OIDC provider needs node and its packages: scripts/setup.sh test "
                "(apt-get install nodejs npm; npm ci in tests/support/oidc)"
            )
        workdir.mkdir(parents=True, exist_ok=True)
        self._log = workdir / f"oidc-{len(list(workdir.glob('oidc-*.log')))}.log"
        argv = [node, str(HERE / "provider.mjs"), "--clients", json.dumps(clients)]
        self.proc = Proc([*argv, *(options or [])], self._log)
        self.issuer = ""
        self.port = 0
        wait_until(self._listening, 20, "the OIDC provider to listen")

    def _listening(self) -> bool:
        if not self.proc.alive():
            raise ProcessFailed(f"the OIDC provider exited:\n{self.proc.tail()}")
        for line in self._log.read_text(errors="replace").splitlines():
            if line.startswith('{"issuer"'):
                ready = json.loads(line)
                self.issuer, self.port = ready["issuer"], ready["port"]
                return True
        return False

    @property
    def url(self) -> str:
        """Where it is served; its issuer differs when started with --issuer."""
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.stop()


@contextmanager
def backend_with_provider(work: Path, name: str = "loop") -> Iterator[CloudServer]:
    """The real backend on SQLite, signing people in through one provider `name`."""
    provider = OidcProvider(work, [client("rf-app")])
    server = None
    try:
        args = [*RELAXED_RATES, "--oidc-provider", f"{name}={provider.url},rf-app"]
        env = {f"RETURNFEED_OIDC_{name.upper()}_SECRET": CLIENT_SECRET}
        server = CloudServer(work, f"sqlite:///{work / 'rf.db'}", extra_args=args, env=env)
        yield server
    finally:
        if server is not None:
            server.stop()
        provider.stop()


FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')
PROMPT = re.compile(r'name="prompt" value="([a-z]+)"')


def sign_in(http: httpx.Client, url: str, login: str, stop_at: str) -> str:
    """Follows `url` through redirects and the provider's sign-in and consent pages as the
    user `login` (an email); returns the first address starting with `stop_at`, unvisited."""
    response = http.get(url)
    for _ in range(20):
        if response.is_redirect:
            target = urljoin(str(response.url), response.headers["location"])
            if target.startswith(stop_at):
                return target
            response = http.get(target)
            continue
        action, prompt = FORM_ACTION.search(response.text), PROMPT.search(response.text)
        if response.status_code != 200 or action is None or prompt is None:
            raise AssertionError(f"unexpected page {response.url}: {response.status_code}")
        form = {"prompt": prompt.group(1)}
        if prompt.group(1) == "login":
            form |= {"login": login, "password": "any"}
        response = http.post(urljoin(str(response.url), action.group(1)), data=form)
    raise AssertionError(f"no redirect to {stop_at} after 20 steps")
