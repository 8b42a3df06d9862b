"""JSON text to messages and back: strict on the way in, compact on the way out.

`parse` raises `ProtocolError` and nothing else, whatever it is handed: it reads bytes straight
off a socket in the relay and in every client.
"""

import enum
import json
import types
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from .errors import ProtocolError
from .messages import MESSAGE_TYPES, Message
from .validate import Validated, describe, fields_of, type_name

PROTOCOL_VERSION = 1
MAX_MESSAGE_BYTES = 16 * 1024  # UTF-8 encoded size, checked before any JSON is read

_T = TypeVar("_T", bound=Validated)


def parse(data: str | bytes) -> Message:
    """Read one message; raise `ProtocolError` naming the field path if it is not valid."""
    text = _text(data)
    try:
        value = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_object)
    except ProtocolError:
        raise
    except json.JSONDecodeError as err:
        raise ProtocolError("", f"invalid JSON: {err}") from None
    except RecursionError:
        raise ProtocolError("", "invalid JSON: nested too deeply") from None
    except ValueError:  # the one other ValueError: an int past sys.get_int_max_str_digits()
        raise ProtocolError("", "invalid JSON: a number has too many digits") from None
    if not isinstance(value, dict):
        raise ProtocolError("", f"expected a JSON object, got {type_name(value)}")
    cls = _message_class(value)
    fields = {key: item for key, item in value.items() if key not in ("v", "type")}
    try:
        return _decode(cls, fields)
    except ProtocolError as err:
        raise err.within(cls.TYPE) from None


def encode(msg: Message) -> str:
    """Compact JSON text of `msg`; raise `ProtocolError` if it is over MAX_MESSAGE_BYTES."""
    payload = {"v": PROTOCOL_VERSION, "type": msg.TYPE, **_fields_to_json(msg)}
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    size = len(text.encode("utf-8"))
    if size > MAX_MESSAGE_BYTES:
        raise ProtocolError(msg.TYPE, f"{size} bytes is over the {MAX_MESSAGE_BYTES}-byte limit")
    return text


def _text(data: object) -> str:
    if isinstance(data, str):
        # A character is at least one byte: the cheap test first, then the exact one.
        if len(data) > MAX_MESSAGE_BYTES:
            raise ProtocolError("", f"message is over the {MAX_MESSAGE_BYTES}-byte limit")
        try:
            size = len(data.encode("utf-8"))
        except UnicodeEncodeError:
            raise ProtocolError("", "text is not valid Unicode (lone surrogate)") from None
        if size > MAX_MESSAGE_BYTES:
            raise ProtocolError("", f"message is over the {MAX_MESSAGE_BYTES}-byte limit")
        return data
    if isinstance(data, bytes | bytearray):
        if len(data) > MAX_MESSAGE_BYTES:
            raise ProtocolError("", f"message is over the {MAX_MESSAGE_BYTES}-byte limit")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as err:
            raise ProtocolError("", f"invalid UTF-8 at byte {err.start}") from None
    raise ProtocolError("", f"expected str or bytes, got {type(data).__name__}")


def _reject_constant(name: str) -> object:
    raise ProtocolError("", f"invalid JSON: {name} is not a number")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Parsers disagree on which of two equal keys wins, so neither does.
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ProtocolError("", f"invalid JSON: duplicate key {describe(key)}")
            seen.add(key)
    return obj


def _message_class(obj: dict[str, Any]) -> type[Message]:
    # The version first: a newer peer's unknown type is a version problem, not a type problem.
    if "v" not in obj:
        raise ProtocolError("v", "missing field")
    version = obj["v"]
    if not isinstance(version, int) or isinstance(version, bool):
        raise ProtocolError("v", f"expected int, got {type_name(version)}")
    if version != PROTOCOL_VERSION:
        raise ProtocolError(
            "v", f"unsupported protocol version {describe(version)}, expected {PROTOCOL_VERSION}"
        )
    if "type" not in obj:
        raise ProtocolError("type", "missing field")
    name = obj["type"]
    if not isinstance(name, str):
        raise ProtocolError("type", f"expected str, got {type_name(name)}")
    if name not in MESSAGE_TYPES:
        raise ProtocolError("type", f"unknown message type {describe(name)}")
    return MESSAGE_TYPES[name]


def _decode(cls: type[_T], obj: dict[str, Any]) -> _T:
    """Build `cls` from a JSON object; the dataclass itself checks every value."""
    fields = fields_of(cls)
    hints = fields.hints
    for key in obj:
        if key not in hints:
            raise ProtocolError("", f"unknown field {describe(key)}")
    for name in hints:
        if name not in obj and name in fields.required:
            raise ProtocolError(name, "missing field")
    args = {name: _shape(hints[name], value, name) for name, value in obj.items()}
    return cls(**args)


def _shape(hint: Any, value: object, path: str) -> object:
    """Turn nested JSON objects into the dataclasses `hint` expects; leave checking to them."""
    origin = get_origin(hint)
    if origin is Annotated:
        return _shape(get_args(hint)[0], value, path)
    if (origin is Union or origin is types.UnionType) and value is not None:
        (inner,) = (arg for arg in get_args(hint) if arg is not type(None))
        return _shape(inner, value, path)
    if origin is tuple and isinstance(value, list):
        item_hint = get_args(hint)[0]
        return [_shape(item_hint, item, f"{path}[{i}]") for i, item in enumerate(value)]
    if isinstance(hint, type) and issubclass(hint, Validated) and isinstance(value, dict):
        try:
            return _decode(hint, value)
        except ProtocolError as err:
            raise err.within(path) from None
    return value


def _fields_to_json(obj: Validated) -> dict[str, object]:
    return {name: _to_json(getattr(obj, name)) for name in fields_of(type(obj)).hints}


def _to_json(value: object) -> object:
    if isinstance(value, Validated):
        return _fields_to_json(value)
    if isinstance(value, tuple):
        return [_to_json(item) for item in value]
    if isinstance(value, enum.Enum):
        return value.value
    return value
