"""``guillotine docs``: write or check the generated pages in docs/."""

from guillotine import GuillotineError


def register(sub):
    p = sub.add_parser("docs", help="write or check the generated documentation pages",
                       description="Regenerate docs/*.md pages that come from the code "
                                   "(latch ladder, countermeasures, register maps).")
    p.add_argument("--folder", default="docs", help="output folder (default: docs)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="write the pages (default)")
    mode.add_argument("--check", action="store_true",
                      help="exit 1 if a checked-in page differs from the code")
    p.set_defaults(func=run)


def run(args):
    from guillotine.docs import write_pages
    stale = write_pages(args.folder, check=args.check)
    if args.check:
        if stale:
            raise GuillotineError(f"generated pages out of date: {', '.join(stale)}; run "
                                  f"'guillotine docs --write'")
        print("docs up to date")
        return 0
    print(f"wrote {', '.join(stale)}" if stale else "docs already up to date")
    return 0
