"""Core events become Qt signals on the UI thread; UI commands go to the core, never blocking.

The core calls `_on_core_event` on its loop thread. Emitting `_incoming` there queues the
event for the UI thread (the connection is explicitly queued), where `_dispatch` re-emits
it on the public signals, so every slot anywhere in the UI runs on the UI thread and sees
events in the order the engine produced them.
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from PySide6.QtCore import QObject, Qt, Signal, Slot

from app.engine.commands import Command
from app.engine.errors import CommandRejected
from app.engine.events import Event
from app.engine.state import ShowState
from app.runtime import AnyEvent
from app.session_link import events as link_events
from app.session_link.link import SessionLink

log = logging.getLogger(__name__)

T = TypeVar("T")
LINK_EVENTS = link_events.LinkEvent.__args__


class Core(Protocol):
    """The part of app.runtime.Runtime the UI uses; tests hand in a fake."""

    @property
    def state(self) -> ShowState: ...

    def subscribe(self, listener: Callable[[AnyEvent], None]) -> Callable[[], None]: ...

    def submit(self, command: Command) -> concurrent.futures.Future[tuple[Event, ...]]: ...

    def call(self, work: Callable[[SessionLink], Awaitable[T]]) -> concurrent.futures.Future[T]: ...


class Bridge(QObject):
    engineEvent = Signal(object)  # app.engine.events.Event
    linkEvent = Signal(object)  # app.session_link.events.LinkEvent
    failed = Signal(str)  # a command the core refused, or a call that broke: for the status bar
    _incoming = Signal(object)
    _failure = Signal(str)

    def __init__(self, core: Core, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.core = core
        self._incoming.connect(self._dispatch, Qt.ConnectionType.QueuedConnection)
        self._failure.connect(self.failed, Qt.ConnectionType.QueuedConnection)
        self._unsubscribe = core.subscribe(self._incoming.emit)

    def close(self) -> None:
        self._unsubscribe()

    @Slot(object)
    def _dispatch(self, event: Any) -> None:
        if isinstance(event, LINK_EVENTS):
            self.linkEvent.emit(event)
        else:
            self.engineEvent.emit(event)

    def submit(self, command: Command) -> None:
        """Fire and forget; a refusal comes back on `failed` as a message."""
        self.core.submit(command).add_done_callback(self._report)

    def call(self, work: Callable[[SessionLink], Awaitable[Any]]) -> concurrent.futures.Future[Any]:
        """Run session-link work on the core; the future may be cancelled, never waited on."""
        future = self.core.call(work)
        future.add_done_callback(self._report)
        return future

    def _report(self, future: concurrent.futures.Future[Any]) -> None:
        # Runs on the core's thread: only emit, the queued connection does the rest.
        if future.cancelled():
            return
        error = future.exception()
        if error is None:
            return
        if isinstance(error, CommandRejected):
            self._failure.emit(str(error))
        else:
            log.error("core call failed", exc_info=error)
            self._failure.emit(f"Unexpected error: {error}")
