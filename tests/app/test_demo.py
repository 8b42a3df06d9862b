"""The demo director (app/demo.py), the command-line options that go live, and the NDI
test sender's picture. The whole `make run` is tested in tests/e2e/test_run_command.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app.demo import FILE_NAME, DemoStore, demo_login
from app.desktop import DEMO_CLOUD, parse_args
from app.session_link.vault import MemoryVault
from media.frames import Size, rgb_to_yuv
from media.ndi_test_sender import DEFAULT_COLOUR, SenderPicture, parse_colour
from media.stamp import decode_stamp
from tests.support.cloud import RELAXED_RATES, CloudServer


class DictKeyring:
    """A persistent vault as the OS keyring would be (there is none on this machine)."""

    persistent = True

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def set(self, key: str, value: str) -> None:
        self.values[key] = value

    def delete(self, key: str) -> None:
        self.values.pop(key, None)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[CloudServer]:
    server = CloudServer(tmp_path, f"sqlite:///{tmp_path / 'returnfeed.db'}", RELAXED_RATES)
    yield server
    server.stop()


def test_demo_login_is_made_once_kept_0600_and_remade_for_a_fresh_database(
    server: CloudServer, tmp_path: Path
) -> None:
    store = DemoStore(MemoryVault(), tmp_path / "data")
    first = demo_login(server.base_url, store)
    assert first.new and first.email.startswith("demo-")
    kept = tmp_path / "data" / FILE_NAME
    assert kept.stat().st_mode & 0o777 == 0o600
    assert first.password in kept.read_text()  # the file is the secret's home, like jwt-secret
    assert str(kept) in first.kept_in

    again = demo_login(server.base_url + "/", store)
    assert (again.email, again.password, again.new) == (first.email, first.password, False)

    # The database is gone (a reset): the kept login no longer works, so a new one is made.
    server.stop()
    (tmp_path / "returnfeed.db").unlink()
    server.start()
    fresh = demo_login(server.base_url, store)
    assert fresh.new and fresh.email != first.email
    assert json.loads(kept.read_text()) == {
        f"demo:{server.base_url}": json.dumps({"email": fresh.email, "password": fresh.password})
    }


def test_with_a_keyring_nothing_is_written_to_disk(server: CloudServer, tmp_path: Path) -> None:
    keyring = DictKeyring()
    store = DemoStore(keyring, tmp_path / "data")
    login = demo_login(server.base_url, store)
    assert login.kept_in == "the OS keyring"
    assert json.loads(keyring.values[f"demo:{server.base_url}"])["email"] == login.email
    assert not (tmp_path / "data" / FILE_NAME).exists()
    assert demo_login(server.base_url, store).email == login.email


def test_go_live_options(capsys: pytest.CaptureFixture[str]) -> None:
    demo = parse_args(["--headless", "--demo"]).cloud
    assert demo is not None and (demo.url, demo.demo, demo.qr) == (DEMO_CLOUD, True, True)
    chosen = parse_args(["--headless", "--cloud", "http://h:1", "--session=-x1", "--no-qr"])
    assert chosen.cloud is not None
    assert (chosen.cloud.session, chosen.cloud.qr) == ("-x1", False)
    assert parse_args(["--headless"]).cloud is None
    for bad, says in (
        (["--headless", "--cloud", "http://h:1"], "needs --session"),
        (["--headless", "--session", "s1"], "goes with --cloud"),
        (["--headless", "--cloud", "h:1", "--demo"], "http://"),
    ):
        with pytest.raises(SystemExit) as exit_:
            parse_args(bad)
        assert exit_.value.code == 2
        assert says in capsys.readouterr().err


def test_sender_picture_has_its_colour_name_box_and_a_readable_stamp() -> None:
    size = Size(640, 360)
    picture = SenderPicture("Sender", size, DEFAULT_COLOUR)
    a = picture.render(0, 123_456).copy()
    b = picture.render(10, 654_321)
    y, u, v = rgb_to_yuv(DEFAULT_COLOUR)
    band = a[250:290]  # between the box and the label: background only
    assert np.all(band[:, :, 1] == y)
    assert np.all(band[:, 0::2, 0] == u) and np.all(band[:, 1::2, 0] == v)
    assert decode_stamp(a[:, :, 1]) == 123_456 and decode_stamp(b[:, :, 1]) == 654_321
    assert not np.array_equal(a[100:300, :, 1], b[100:300, :, 1]), "the box moves"
    assert np.any(a[300:360, :, 1] > 200), "the label is drawn"
    assert parse_colour("#0a0B0c") == (10, 11, 12) and parse_colour("1, 2,3") == (1, 2, 3)
    for bad in ("red", "#12345", "1,2,300"):
        with pytest.raises(ValueError):
            parse_colour(bad)
