"""A camera phone on the relay for crew tests: a real WebSocket peer on a loop of its own
thread, recording everything it is told, so a test thread (or Qt's) can wait on it."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tally import Message, Role
from tests.cloud.relay.peers import connect_peer


class Phone:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._changed = threading.Condition()

    def told(self, message: Message) -> None:
        with self._changed:
            self.messages.append(message)
            self._changed.notify_all()

    def wait_for(self, check: Callable[[Message], bool], within: float = 10.0) -> Message:
        """The first message so far, or within `within` s, that passes `check`."""
        with self._changed:
            found = self._changed.wait_for(
                lambda: next((m for m in self.messages if check(m)), None), within
            )
        assert found is not None, f"the phone was not told it; it got {self.messages}"
        return found


@contextmanager
def phone_on_relay(url: str, token: str, camera: int) -> Iterator[Phone]:
    """A phone joined as `camera` (its assign read) until the block ends."""
    phone = Phone()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="phone", daemon=True)
    thread.start()
    joined: concurrent.futures.Future[None] = concurrent.futures.Future()

    async def run() -> None:
        try:
            async with connect_peer(url, token, Role.CAMERA, assign=camera, beat=0.5) as peer:
                joined.set_result(None)
                while True:
                    phone.told(await peer.recv(3600))
        except Exception as exc:
            if not joined.done():
                joined.set_exception(exc)
            raise

    async def start() -> asyncio.Task[None]:
        return asyncio.create_task(run())

    async def stop(task: asyncio.Task[None]) -> None:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task  # the connection closes on this loop, before the loop stops

    task = asyncio.run_coroutine_threadsafe(start(), loop).result(5)
    try:
        joined.result(15)
        yield phone
    finally:
        asyncio.run_coroutine_threadsafe(stop(task), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
