"""``guillotine demo``: a simulated rogue model caught by the kill latch, as a timeline."""

import os
from pathlib import Path

from guillotine import GuillotineError


def register(sub):
    p = sub.add_parser("demo", help="simulate a rogue model being caught; print the latch "
                                    "timeline and write a waveform",
                       description="Run the kill-latch scenario on the Amaranth simulator: "
                                   "violations, a firmware request, a watchdog trip, a "
                                   "human-consensus release and a panic.")
    p.add_argument("--trace", default="build/demo/kill_latch.vcd", metavar="PATH",
                   help="VCD waveform to write (default: build/demo/kill_latch.vcd)")
    p.add_argument("--no-trace", action="store_true", help="do not write a waveform")
    p.add_argument("--n-keys", type=int, default=3, help="operator keys (default 3)")
    p.add_argument("--k", type=int, default=2, help="keys needed for a release (default 2)")
    p.add_argument("--fault-level", default="IMMOLATION",
                   help="level an invalid state code acts as (default IMMOLATION)")
    p.set_defaults(func=run)


def run(args):
    from guillotine.hdl.kill_latch import latch_params
    from guillotine.sim.latch_scenario import format_timeline, run_latch_scenario

    params = dict(n_keys=args.n_keys, k=args.k, fault_level=args.fault_level)
    latch_params(**params)                      # bad parameters fail here, before anything runs
    if args.k < 2 or args.n_keys < 3:
        raise GuillotineError(f"the demo scenario turns keys 0 and 2 and needs 2 of them; use "
                              f"--n-keys >= 3 and --k 2 (got --n-keys {args.n_keys} --k {args.k})")
    trace = None
    if not args.no_trace:
        trace = Path(args.trace)
        if trace.suffix != ".vcd":
            raise GuillotineError(f"--trace must name a .vcd file, not {str(trace)!r}")
        trace.parent.mkdir(parents=True, exist_ok=True)
    print("Guillotine kill latch demo: a rogue model is caught (Amaranth simulator)\n")
    events = run_latch_scenario(trace=trace, **params)
    print(format_timeline(events))
    final = [e for e in events if e.new is not None][-1].new
    print(f"\nfinal level: {final.name}")
    if trace:
        print(f"waveform: {os.path.relpath(trace)}  (open with: gtkwave {os.path.relpath(trace)})")
    return 0
