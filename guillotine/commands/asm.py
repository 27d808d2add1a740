"""``guillotine asm``: assemble a GNU-syntax RV32I source file into a flat binary or hex file."""

import argparse
import os
import tempfile

from guillotine import GuillotineError


def _address(text):
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid address {text!r} (use a number such as 0, 4096 or 0x10000000)") from None
    if not 0 <= value <= 0xFFFF_FFFF:
        raise argparse.ArgumentTypeError(f"address {text} is outside 0..0xffffffff")
    return value


def register(subparsers):
    """Add the ``asm`` subcommand."""
    parser = subparsers.add_parser(
        "asm", help="assemble RV32I source (.s) into a flat binary or $readmemh hex file",
        description="Assemble GNU-syntax RV32I source into a flat little-endian image. "
                    "See docs/firmware.md for the supported syntax.")
    parser.add_argument("source", help="input assembly file (.s)")
    parser.add_argument("-o", "--output", help="output file (binary, or hex with --hex)")
    parser.add_argument("--hex", action="store_true",
                        help="write $readmemh text (one 32-bit word per line) instead of binary")
    parser.add_argument("--listing", action="store_true",
                        help="print the listing (address, word, disassembly, source) to stdout")
    parser.add_argument("--base", type=_address, default=0, metavar="ADDR",
                        help="load address of the first byte (default 0)")
    parser.set_defaults(func=run)


def read_text_input(path):
    """Read a text input file, turning the usual failures into one-line GuillotineErrors."""
    if not os.path.exists(path):
        raise GuillotineError(f"input file '{path}' not found")
    if os.path.isdir(path):
        raise GuillotineError(f"input '{path}' is a folder, not a file")
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except UnicodeDecodeError:
        raise GuillotineError(f"input file '{path}' is not UTF-8 text") from None


def check_output_path(path):
    """Fail early, with one clear line, if ``path`` cannot be written as a file."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise GuillotineError(f"output folder '{os.path.dirname(path) or '.'}' does not exist")
    if os.path.isdir(path):
        raise GuillotineError(f"output '{path}' is a folder, not a file")


def write_atomically(path, data: bytes):
    """Write ``data`` to ``path`` via a temporary file, so an error never leaves a partial file."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        mode = os.stat(path).st_mode & 0o7777          # keep an existing file's permissions
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask                           # as open() would create it
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".guillotine-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def run(args):
    """Assemble ``args.source``; write ``args.output``; print the listing if asked."""
    from guillotine.firmware.asm import assemble_text

    if not args.output and not args.listing:
        raise GuillotineError("nothing to do: give -o OUTPUT and/or --listing")
    text = read_text_input(args.source)
    if args.output:
        check_output_path(args.output)
    image = assemble_text(text, base=args.base, filename=args.source)
    if args.output:
        write_atomically(args.output, image.hex().encode() if args.hex else image.data)
    if args.listing:
        print(image.listing(), end="")
    return 0
