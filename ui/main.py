"""Entry point for `returnfeed-desktop` (and `returnfeed` with no subcommand).

Nothing Qt is imported at module level: `returnfeed sources`, `returnfeed send` and
`returnfeed-desktop --headless` must work on a machine without a display or Qt's
system libraries, so they are handed to app/ before PySide6 is ever loaded.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if args and not args[0].startswith("-"):
        from app.cli import main as cli_main  # a subcommand: sources, send, ...

        return cli_main(args)
    from app.desktop import parse_args, run_headless

    options = parse_args(args)
    if options.headless:
        return run_headless(options)
    from ui.app import run_window  # absolute: this file is also a frozen entry script

    return run_window(options)


if __name__ == "__main__":
    raise SystemExit(main())
