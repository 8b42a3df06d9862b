"""`make run`'s script as a newcomer meets it, on a machine without a display.

scripts/run.sh starts the backend, the NDI test sender and the headless switcher as the
demo director; the printed phone and viewer links must work (pages load, invite tokens
redeem, the gateway says the program is live). Ctrl+C must stop every process it started
and leave a database that opens and still holds the demo account and session. A second
run signs in to the same account and reopens the same session.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import uuid
from pathlib import Path

import httpx

from tests.e2e.conftest import NO_KEYRING, ROOT, Printed
from tests.support.procs import free_port, free_udp_port


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def run_once(env: dict[str, str], log: Path) -> tuple[str, str, str]:
    """One `make run`: check its links, Ctrl+C it; (demo email, viewer URL, session id)."""
    run = Printed(["bash", str(ROOT / "scripts" / "run.sh")], env, log)
    try:
        run.wait_line(r"no display found, so the switcher runs headless", 60)
        email = run.wait_line(r"^Demo director (\S+) .*kept in .*0600", 60)[1]
        phone_url = run.wait_line(r"Phone Cam 1 \(NDI test\): (\S+)", 60)[1]
        viewer_url = run.wait_line(r"Viewer: (\S+)", 10)[1]
        run.wait_line(r"^Viewer QR code:", 10)
        run.wait_line(r"^Live: the program goes to srt://", 60)
        session_id = check_links(phone_url, viewer_url)
        children = descendants(run.popen.pid)
        assert len(children) >= 3, children  # backend, NDI sender, switcher
    finally:
        rc = run.stop(60)
    assert rc == 130, run.text()[-3000:]  # stopped by Ctrl+C, after its clean-up
    assert "run: stopped" in run.text()
    assert "Traceback" not in run.text(), run.text()[-3000:]
    left = [pid for pid in children if alive(pid)]
    assert not left, f"processes left behind: {left}"
    return email, viewer_url, session_id


def check_links(phone_url: str, viewer_url: str) -> str:
    base, _, camera_token = phone_url.partition("/tally#")
    _, _, viewer_token = viewer_url.partition("/watch#")
    with httpx.Client(base_url=base, timeout=10) as http:
        assert http.get("/tally").status_code == 200
        assert http.get("/watch").status_code == 200
        cam = http.post("/api/invites/redeem", json={"token": camera_token})
        assert cam.status_code == 201, cam.text
        assert cam.json()["participant"]["camera_number"] == 1, cam.json()
        watch = http.post("/api/invites/redeem", json={"token": viewer_token})
        assert watch.status_code == 201, watch.text
        session_id: str = watch.json()["session"]["id"]
        auth = {"Authorization": f"Bearer {watch.json()['participant_token']}"}
        deadline = time.monotonic() + 20
        while True:
            status = http.get(f"/whep/{session_id}/status", headers=auth)
            assert status.status_code == 200, status.text
            if status.json()["live"] or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert status.json()["live"] is True, status.json()
        return session_id


def test_run_shows_working_links_and_ctrl_c_leaves_nothing_behind(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(
        NO_KEYRING,
        RETURNFEED_SKIP_SETUP="1",  # the test run has set up .venv already
        RETURNFEED_PORT=str(free_port()),
        RETURNFEED_SRT_PORT=str(free_udp_port()),
        RETURNFEED_DATA_DIR=str(data),
        RETURNFEED_NDI_NAME=f"rf-run-{uuid.uuid4().hex[:8]}",
        APP_ARGS="--control-port 0 --fps 30",
    )
    email, viewer_url, session_id = run_once(env, tmp_path / "run1.log")

    assert (data / "demo-login.json").stat().st_mode & 0o777 == 0o600
    kept = json.loads((data / "demo-login.json").read_text())
    assert email in next(iter(kept.values()))
    with sqlite3.connect(data / "returnfeed.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT count(*) FROM users WHERE email = ?", (email,)).fetchone() == (1,)
        names = db.execute("SELECT name FROM sessions WHERE id = ?", (session_id,)).fetchall()
        assert names == [("ReturnFeed demo",)]

    # Again: the same demo director, the same session and links.
    again, viewer_again, session_again = run_once(env, tmp_path / "run2.log")
    assert (again, viewer_again, session_again) == (email, viewer_url, session_id)
