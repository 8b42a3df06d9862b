"""Field checks read from the annotations, so each limit is written once, beside its field.

Every protocol dataclass derives from `Validated`: constructing one checks each field against
its annotation (and the `Range`, `Length`, `Unique` rules inside `Annotated`) and raises
`ProtocolError` naming the field. The parser builds the same dataclasses, so a message from the
wire and one built in Python pass exactly the same checks.
"""

import dataclasses
import enum
import math
import types
import unicodedata
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

from .errors import ProtocolError

_JSON_NAMES: dict[type, str] = {
    type(None): "null",
    bool: "bool",
    int: "int",
    float: "float",
    str: "str",
    list: "list",
    tuple: "list",
    dict: "object",
}


def type_name(value: object) -> str:
    """The JSON name of a value's type, as error messages show it."""
    return _JSON_NAMES.get(type(value), type(value).__name__)


def describe(value: object) -> str:
    """A short repr for error messages: an error must stay small enough to send back."""
    try:
        text = repr(value)
    except ValueError:  # an int past sys.get_int_max_str_digits()
        return f"<{type_name(value)} too large to show>"
    return text if len(text) <= 40 else text[:37] + "..."


@dataclasses.dataclass(frozen=True, slots=True)
class Range:
    """Inclusive bounds of an int field."""

    low: int
    high: int

    def check(self, value: object, path: str) -> None:
        if not isinstance(value, int):
            raise TypeError(f"Range applies to int fields, not {type_name(value)}")
        if not self.low <= value <= self.high:
            raise ProtocolError(path, f"expected {self.low}..{self.high}, got {describe(value)}")


@dataclasses.dataclass(frozen=True, slots=True)
class Length:
    """Inclusive bounds on a str field's characters (code points) or a tuple field's items."""

    low: int
    high: int

    def check(self, value: object, path: str) -> None:
        if not isinstance(value, str | tuple):
            raise TypeError(f"Length applies to str and tuple fields, not {type_name(value)}")
        if self.low <= len(value) <= self.high:
            return
        unit = "characters" if isinstance(value, str) else "items"
        bounds = f"at most {self.high}" if self.low == 0 else f"{self.low}..{self.high}"
        raise ProtocolError(path, f"expected {bounds} {unit}, got {len(value)}")


@dataclasses.dataclass(frozen=True, slots=True)
class Unique:
    """No two items of a tuple field are equal, or, with `key`, have equal `key` attributes."""

    key: str | None = None

    def check(self, value: object, path: str) -> None:
        if not isinstance(value, tuple):
            raise TypeError(f"Unique applies to tuple fields, not {type_name(value)}")
        seen: set[object] = set()
        for index, item in enumerate(value):
            key = item if self.key is None else getattr(item, self.key)
            if key in seen:
                where = f"{path}[{index}]" + ("" if self.key is None else f".{self.key}")
                raise ProtocolError(where, f"duplicate value {describe(key)}")
            seen.add(key)


# Bidi overrides and isolates can make a name display as something else; joiners (U+200D)
# stay allowed because emoji sequences need them.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
UNPRINTABLE = "must not contain control or text-direction override characters"


def unprintable(text: str) -> str | None:
    """The first character of `text` a displayed name must not hold (C0/C1 controls, lone
    surrogates, bidi overrides and isolates), or None. The REST API and the relay both
    check names with this, so neither lets through what the other refuses."""
    for ch in text:
        if ch in BIDI_CONTROLS or unicodedata.category(ch) in ("Cc", "Cs"):
            return ch
    return None


@dataclasses.dataclass(frozen=True, slots=True)
class Printable:
    """A str field people read: no character `unprintable` names."""

    def check(self, value: object, path: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"Printable applies to str fields, not {type_name(value)}")
        bad = unprintable(value)
        if bad is not None:
            raise ProtocolError(path, f"{UNPRINTABLE} (U+{ord(bad):04X})")


_RULES = (Range, Length, Unique, Printable)


@dataclasses.dataclass(frozen=True, slots=True)
class Fields:
    """What a protocol dataclass declares, read once per class."""

    hints: Mapping[str, Any]  # name -> annotation, `Annotated` rules included, in field order
    required: frozenset[str]  # the names that must be present on the wire: those without default


_FIELDS: dict[type, Fields] = {}  # a memo: get_type_hints re-evaluates every annotation


def fields_of(cls: type[Any]) -> Fields:
    found = _FIELDS.get(cls)
    if found is None:
        hints = get_type_hints(cls, include_extras=True)
        declared = dataclasses.fields(cls)
        found = Fields(
            hints=types.MappingProxyType({f.name: hints[f.name] for f in declared}),
            required=frozenset(
                f.name
                for f in declared
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            ),
        )
        _FIELDS[cls] = found
    return found


def conform(hint: Any, value: object, path: str) -> object:
    """Check `value` against `hint`; return it in canonical form (tuple, enum member, float)."""
    rules: tuple[object, ...] = ()
    if get_origin(hint) is Annotated:
        hint, *extras = get_args(hint)
        rules = tuple(extras)
    value = _conform_type(hint, value, path)
    for rule in rules:
        if isinstance(rule, _RULES):
            rule.check(value, path)
    return value


def _conform_type(hint: Any, value: object, path: str) -> object:
    origin = get_origin(hint)
    if origin is Union or origin is types.UnionType:
        options = [arg for arg in get_args(hint) if arg is not type(None)]
        if len(options) != 1:
            raise TypeError(f"only `X | None` unions are supported, not {hint!r}")
        return None if value is None else conform(options[0], value, path)
    if origin is Literal:
        allowed = get_args(hint)
        if isinstance(value, str) and value in allowed:
            return value
        raise ProtocolError(path, f"expected one of {_choices(allowed)}, got {describe(value)}")
    if origin is tuple:
        item_hint = get_args(hint)[0]
        if not isinstance(value, tuple | list):
            raise ProtocolError(path, f"expected list, got {type_name(value)}")
        return tuple(conform(item_hint, item, f"{path}[{i}]") for i, item in enumerate(value))
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        # bool is an int subclass in Python but not a number on the wire.
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return _finite(value, path)
    elif hint is str:
        if isinstance(value, str):
            return _encodable(value, path)
    elif isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _enum_member(hint, value, path)
    elif isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if isinstance(value, hint):
            return value
        raise ProtocolError(path, f"expected object, got {type_name(value)}")
    else:
        raise TypeError(f"unsupported annotation {hint!r}")
    raise ProtocolError(path, f"expected {hint.__name__}, got {type_name(value)}")


def _finite(value: int | float, path: str) -> float:
    # JSON has no NaN or infinity, and a number like 1e400 or a 400-digit int reads as one.
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ProtocolError(path, f"expected a finite number, got {describe(value)}")
    return number


def _encodable(value: str, path: str) -> str:
    # A JSON escape like "\ud800" yields a lone surrogate, which no UTF-8 peer can receive.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ProtocolError(path, "text is not valid Unicode (lone surrogate)") from None
    return value


def _enum_member(enum_type: type[enum.Enum], value: object, path: str) -> enum.Enum:
    if isinstance(value, enum_type):
        return value
    if not isinstance(value, str):
        raise ProtocolError(path, f"expected str, got {type_name(value)}")
    try:
        return enum_type(value)
    except ValueError:
        allowed = tuple(member.value for member in enum_type)
        raise ProtocolError(
            path, f"expected one of {_choices(allowed)}, got {describe(value)}"
        ) from None


def _choices(allowed: tuple[object, ...]) -> str:
    return ", ".join(repr(choice) for choice in allowed)


class Validated:
    """Base of every protocol dataclass: checks, and canonicalises, each field on construction."""

    __slots__ = ()

    def __post_init__(self) -> None:
        for name, hint in fields_of(type(self)).hints.items():
            # Frozen: canonical values (tuple for list, enum member for str) go in by the back door.
            object.__setattr__(self, name, conform(hint, getattr(self, name), name))
