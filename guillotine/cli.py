"""The ``guillotine`` command.

Subcommands live in :mod:`guillotine.commands`; each module there defines
``register(subparsers)`` which adds its parser and sets ``func`` (``func(args) -> int``).
Modules are discovered automatically, so adding a command never touches this file.

Every user error (:class:`guillotine.GuillotineError`, ``ValueError``, ``TypeError``, ``OSError``)
is printed as one line ``guillotine: error: ...`` with exit status 2; never a traceback.
"""

import argparse
import importlib
import pkgutil
import sys

from guillotine import GuillotineError, __version__
from guillotine import commands as _commands


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # argparse's default prints the usage too; keep it to one line naming what is valid.
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser():
    parser = _Parser(
        prog="guillotine",
        description="Guillotine SoC: hardened hypervisor SoC framework "
                    "(RTL, kill latch, NIC gate, firmware, simulation, formal proofs, boards).")
    parser.add_argument("--version", action="version", version=f"guillotine {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for info in sorted(pkgutil.iter_modules(_commands.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{_commands.__name__}.{info.name}")
        module.register(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("guillotine: interrupted", file=sys.stderr)
        return 130
    except (GuillotineError, ValueError, TypeError, OSError) as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"guillotine: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
