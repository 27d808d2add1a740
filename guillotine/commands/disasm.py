"""``guillotine disasm``: disassemble a flat RV32I binary (or $readmemh hex) file."""

import os

from guillotine import GuillotineError
from guillotine.commands.asm import _address


def register(subparsers):
    """Add the ``disasm`` subcommand."""
    parser = subparsers.add_parser(
        "disasm", help="disassemble a flat RV32I binary: address, word, instruction per line",
        description="Disassemble a flat little-endian RV32I image, one 32-bit word per line.")
    parser.add_argument("image", help="input file (raw binary, or $readmemh text with --hex)")
    parser.add_argument("--base", type=_address, default=0, metavar="ADDR",
                        help="address of the first byte (default 0)")
    parser.add_argument("--hex", action="store_true",
                        help="the input is $readmemh text (one 32-bit hex word per line)")
    parser.set_defaults(func=run)


def _read_hex(path, raw):
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise GuillotineError(f"'{path}' is not hex text (non-ASCII bytes); drop --hex for "
                              f"a binary file") from None
    data = bytearray()
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.split("//")[0].strip()
        if not line:
            continue
        for token in line.split():
            if token.startswith("@"):
                raise GuillotineError(f"{path}:{lineno}: address records ('{token}') are not "
                                      f"supported; use --base")
            try:
                word = int(token, 16)
            except ValueError:
                raise GuillotineError(f"{path}:{lineno}: '{token}' is not a hex word") from None
            if not 0 <= word <= 0xFFFF_FFFF:
                raise GuillotineError(f"{path}:{lineno}: '{token}' is wider than 32 bits")
            data += word.to_bytes(4, "little")
    return bytes(data)


def run(args):
    """Print the disassembly of ``args.image``."""
    from guillotine.firmware.disasm import disassemble_image

    path = args.image
    if not os.path.exists(path):
        raise GuillotineError(f"input file '{path}' not found")
    if os.path.isdir(path):
        raise GuillotineError(f"input '{path}' is a folder, not a file")
    with open(path, "rb") as f:
        raw = f.read()
    data = _read_hex(path, raw) if args.hex else raw
    if not data:
        raise GuillotineError(f"input file '{path}' is empty: nothing to disassemble")
    if len(data) % 4:
        raise GuillotineError(f"input file '{path}' is {len(data)} bytes, not a multiple of 4 "
                              f"(RV32I words are 4 bytes)")
    for line in disassemble_image(data, args.base):
        print(line)
    return 0
