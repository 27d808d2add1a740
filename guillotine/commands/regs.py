"""``guillotine regs``: print or write the register and memory maps (Markdown, JSON, C, Python)."""

import argparse

from guillotine import GuillotineError

FORMATS = ("md", "json", "c", "py")       # = guillotine.firmware.regmap.FORMATS (checked by a test)
MAX_MODELS = 4                            # = guillotine.hdl.memory_map.MAX_MODELS (checked)


def _n_models(text):
    try:
        value = int(text, 0)
    except ValueError:
        value = None
    if value is None or not 1 <= value <= MAX_MODELS:
        raise argparse.ArgumentTypeError(f"invalid model count {text!r} (valid: 1..{MAX_MODELS})")
    return value


def register(subparsers):
    """Add the ``regs`` subcommand."""
    p = subparsers.add_parser(
        "regs", help="print the register and memory maps as Markdown, JSON, a C header or Python",
        description="Generate the SoC's register and memory maps from their single declaration "
                    "(hdl/memory_map.py and the blocks' RegisterBlock constants).")
    p.add_argument("--format", "-f", choices=FORMATS, default="md",
                   help="md (Markdown, as docs/registers.md), json, c (header) or py "
                        "(constants); default md")
    p.add_argument("--n-models", type=_n_models, default=2, metavar="N",
                   help=f"number of model cores, 1..{MAX_MODELS} (default 2)")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="write FILE (atomically) instead of printing to stdout")
    p.set_defaults(func=run)


def run(args):
    """Render the map in ``args.format``; print it or write ``args.output``."""
    from guillotine.commands.asm import check_output_path, write_atomically
    from guillotine.firmware.regmap import render

    if args.format not in FORMATS:                  # reachable only from Python callers
        raise GuillotineError(f"unknown format {args.format!r}; valid: {', '.join(FORMATS)}")
    if args.output:
        check_output_path(args.output)
    text = render(args.format, n_models=args.n_models)
    if args.output:
        write_atomically(args.output, text.encode())
    else:
        print(text, end="")
    return 0
