"""Keyset pagination: an opaque cursor names the last item of a page (its creation time and
id), so a page never repeats or skips an item when others are added meanwhile."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Query, Request

from cloud.errors import ApiError

PageLimit = Annotated[int, Query(ge=1, le=100, description="items per page (1..100)")]


@dataclass(frozen=True, slots=True)
class Cursor:
    created_at: datetime
    id: str

    def encode(self) -> str:
        raw = f"{self.created_at.isoformat()}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def parse(cls, text: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            created_at, item_id = raw.split("|", 1)
            return cls(datetime.fromisoformat(created_at), item_id)
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise ApiError(
                "the cursor is not one this server gave out; start again without it",
                {"field": "cursor"},
            ) from None


def page_link(request: Request, after: Cursor) -> str:
    """A `Link` header value for the page after `after`, keeping the other query params."""
    url = request.url.include_query_params(cursor=after.encode())
    return f'<{url.path}?{url.query}>; rel="next"'
