"""``guillotine demo``: a simulated SoC catches a rogue model; the kill latch escalates.

``--latch`` runs the kill latch alone through its whole ladder (watchdog, consensus release,
panic) instead.
"""

import os
from pathlib import Path

from guillotine import GuillotineError


def register(sub):
    p = sub.add_parser("demo", help="simulate the SoC catching a rogue model; print the "
                                    "timeline and write a waveform",
                       description="Run the Guillotine SoC on the Amaranth simulator: the "
                                   "hypervisor runs two models, one of them goes rogue and is "
                                   "contained, the kill latch escalates, the operator panics. "
                                   "With --latch: the kill latch alone through its whole ladder.")
    p.add_argument("--latch", action="store_true",
                   help="kill latch scenario (violations, firmware request, watchdog, consensus "
                        "release, panic) instead of the SoC")
    p.add_argument("--trace", metavar="PATH",
                   help="VCD waveform to write (default: build/demo/soc.vcd, or "
                        "build/demo/kill_latch.vcd with --latch)")
    p.add_argument("--no-trace", action="store_true", help="do not write a waveform")
    p.add_argument("--n-keys", type=int, default=3, help="--latch: operator keys (default 3)")
    p.add_argument("--k", type=int, default=2, help="--latch: keys needed for a release "
                                                    "(default 2)")
    p.add_argument("--fault-level", default="IMMOLATION",
                   help="--latch: level an invalid state code acts as (default IMMOLATION)")
    p.set_defaults(func=run)


def _trace_path(args, default):
    if args.no_trace:
        return None
    trace = Path(args.trace or default)
    if trace.suffix != ".vcd":
        raise GuillotineError(f"--trace must name a .vcd file, not {str(trace)!r}")
    trace.parent.mkdir(parents=True, exist_ok=True)
    return trace


def _latch(args):
    from guillotine.hdl.kill_latch import latch_params
    from guillotine.sim.latch_scenario import format_timeline, run_latch_scenario

    params = dict(n_keys=args.n_keys, k=args.k, fault_level=args.fault_level)
    latch_params(**params)                      # bad parameters fail here, before anything runs
    if args.k < 2 or args.n_keys < 3:
        raise GuillotineError(f"the demo scenario turns keys 0 and 2 and needs 2 of them; use "
                              f"--n-keys >= 3 and --k 2 (got --n-keys {args.n_keys} --k {args.k})")
    trace = _trace_path(args, "build/demo/kill_latch.vcd")
    print("Guillotine kill latch demo (Amaranth simulator)\n")
    events = run_latch_scenario(trace=trace, **params)
    print(format_timeline(events))
    final = [e for e in events if e.new is not None][-1].new
    print(f"\nfinal level: {final.name}")
    return trace


def _soc(args):
    from guillotine.sim.soc_scenario import format_soc_timeline, run_soc_scenario

    trace = _trace_path(args, "build/demo/soc.vcd")
    print("Guillotine SoC demo (Amaranth simulator): hypervisor + 2 model cores")
    print("model 0 counts (benign); model 1 behaves, then reads hypervisor RAM (rogue)\n")
    sc = run_soc_scenario(trace=trace)
    print(format_soc_timeline(sc))
    run = sc.run
    print(f"\nmodel 1 halted: {sc.model1_cause.name}; violations counted: model 0 "
          f"{sc.violations[0]}, model 1 {sc.violations[1]}")
    print(f"model RAM scrubbed to zero: model 0 {'yes' if sc.scrubbed[0] else 'NO'}, "
          f"model 1 {'yes' if sc.scrubbed[1] else 'NO'}")
    print(f"hypervisor still running: {'yes' if not run.hv_halted else 'NO'}; final level: "
          f"{run.level.name}; {run.cycles} cycles")
    return trace


def run(args):
    trace = _latch(args) if args.latch else _soc(args)
    if trace:
        print(f"waveform: {os.path.relpath(trace)}  (open with: gtkwave "
              f"{os.path.relpath(trace)})")
    return 0
