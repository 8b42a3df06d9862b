"""The ctypes structs and constants match the installed srt.h, byte for byte.

A C program compiled against /usr/include/srt prints offsetof/sizeof for every field we
declare and the value of every constant we use; the test compares them with ctypes.
"""

from __future__ import annotations

import ctypes
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from media.srt import consts, structs

HEADER = Path("/usr/include/srt/srt.h")
ACCESS_CONTROL = Path("/usr/include/srt/access_control.h")

# ctypes class -> the C type it mirrors; fields starting with "_" are private padding.
STRUCTS: dict[type[ctypes.Structure], str] = {
    structs.SrtMsgCtrl: "SRT_MSGCTRL",
    structs.SrtEpollEvent: "SRT_EPOLL_EVENT",
    structs.CBytePerfMon: "struct CBytePerfMon",
    structs.SockaddrIn: "struct sockaddr_in",
    structs.SockaddrIn6: "struct sockaddr_in6",
    structs.SockaddrStorage: "struct sockaddr_storage",
}

# Our name -> the C expression it must equal.
_CONST_NAMES = [n for n in dir(consts) if n.startswith(("SRTO_", "SRTT_", "SRTS_", "SRT_E"))]
_CONST_NAMES += ["SRT_LIVE_DEF_PLSIZE", "SRT_LIVE_MAX_PLSIZE", "SRT_INVALID_SOCK", "SRT_ERROR"]
_CONST_NAMES += ["SRT_REJC_PREDEFINED", "SRT_REJC_USERDEFINED"]
CONSTANTS: dict[str, str] = {n: n for n in _CONST_NAMES}
for reason in consts.RejectReason:
    c_name = "VERSION" if reason.name == "VERSION_APP" else reason.name
    CONSTANTS[f"RejectReason.{reason.name}"] = (
        f"SRT_REJ_{c_name}" if reason < 1000 else f"SRT_REJX_{c_name}"
    )


def _c_program() -> str:
    lines = [
        "#include <stddef.h>",
        "#include <stdio.h>",
        "#include <netinet/in.h>",
        "#include <sys/socket.h>",
        "#include <srt/srt.h>",
        "#include <srt/access_control.h>",
        "int main(void) {",
    ]
    for cls, c_type in STRUCTS.items():
        lines.append(f'printf("{cls.__name__} sizeof %zu\\n", sizeof({c_type}));')
        for name, *_ in cls._fields_:
            if not name.startswith("_"):
                lines.append(f'printf("{cls.__name__}.{name} %zu\\n", offsetof({c_type}, {name}));')
    for ours, c_expr in CONSTANTS.items():
        lines.append(f'printf("{ours} %lld\\n", (long long)({c_expr}));')
    lines += ["return 0;", "}"]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def from_c(tmp_path_factory: pytest.TempPathFactory) -> dict[str, int]:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc not installed: apt-get install gcc")
    if not HEADER.exists() or not ACCESS_CONTROL.exists():
        pytest.skip(f"{HEADER} not installed: apt-get install libsrt-openssl-dev")
    work = tmp_path_factory.mktemp("layout")
    (work / "layout.c").write_text(_c_program())
    subprocess.run(
        [gcc, "-std=c11", "-Wall", "-o", str(work / "layout"), str(work / "layout.c")],
        check=True,
        capture_output=True,
        timeout=60,
    )
    out = subprocess.run([str(work / "layout")], check=True, capture_output=True, timeout=10)
    values: dict[str, int] = {}
    for line in out.stdout.decode().splitlines():
        key, value = line.rsplit(" ", 1)
        values[key] = int(value)
    return values


@pytest.mark.parametrize("cls", list(STRUCTS), ids=lambda c: c.__name__)
def test_struct_matches_header(cls: type[ctypes.Structure], from_c: dict[str, int]) -> None:
    assert ctypes.sizeof(cls) == from_c[f"{cls.__name__} sizeof"]
    mismatched = {
        name: (getattr(cls, name).offset, from_c[f"{cls.__name__}.{name}"])
        for name, *_ in cls._fields_
        if not name.startswith("_")
        and getattr(cls, name).offset != from_c[f"{cls.__name__}.{name}"]
    }
    assert not mismatched, f"(ctypes, C) offsets differ: {mismatched}"


def test_perfmon_declares_every_field(from_c: dict[str, int]) -> None:
    # Offsets alone would not notice a skipped field hiding in alignment padding: compare
    # the names, in order, with the struct body in the header.
    text = HEADER.read_text()
    body = text[text.index("struct CBytePerfMon\n{") :]
    body = body[body.index("{") + 1 : body.index("};")]
    in_header = re.findall(r"^\s*(?:u?int(?:64_t)?|double)\s+(\w+);", body, re.MULTILINE)
    assert len(in_header) == body.count(";"), "a field type the regex does not know"
    assert [name for name, _ in structs.CBytePerfMon._fields_] == in_header


def test_constants_match_header(from_c: dict[str, int]) -> None:
    ours: dict[str, int] = {}
    for key in CONSTANTS:
        if key.startswith("RejectReason."):
            ours[key] = consts.RejectReason[key.removeprefix("RejectReason.")].value
        else:
            ours[key] = getattr(consts, key)
    differ = {k: (v, from_c[k]) for k, v in ours.items() if v != from_c[k]}
    assert not differ, f"(ours, srt.h) differ: {differ}"
