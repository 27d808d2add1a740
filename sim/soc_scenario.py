"""The main demo: a simulated Guillotine SoC catches a rogue model (``guillotine demo``).

The hypervisor monitor (:func:`~guillotine.firmware.programs.hypervisor_monitor`) runs two
models: model 0 counts (benign); model 1 first behaves, then tries to read hypervisor RAM. The
model firewall answers with a bus error, model 1 halts, the violation reaches the kill latch, which
puts the system on PROBATION (egress blocked in hardware) while the hypervisor keeps running and
inspecting model 0. Then an operator presses the panic button: DECAPITATION holds both models in
reset and the hardware scrubber zeroes their RAM.
"""

from dataclasses import dataclass

from guillotine.firmware.programs import (COUNTER_ADDR, ROGUE_MODELS, counter_model,
                                          hypervisor_monitor)
from guillotine.hdl.cpu.causes import HaltCause
from guillotine.hdl.kill_latch import LEVEL_EFFECTS
from guillotine.hdl.soc import GuillotineSoC
from guillotine.sim.soc_sim import run_soc

__all__ = ["run_soc_scenario", "format_soc_timeline", "SocScenario"]


@dataclass
class SocScenario:
    """What the demo showed."""
    run: object
    panic_cycle: int
    model1_cause: HaltCause
    violations: tuple
    scrubbed: tuple


def run_soc_scenario(trace=None, panic_cycle=9000, max_cycles=12_000):
    """Run the scenario (about 12,000 cycles); returns a :class:`SocScenario`."""
    rogue = ROGUE_MODELS["read_hypervisor_ram"][0]()
    soc = GuillotineSoC(2, hypervisor_monitor(2), model_images=[counter_model(), rogue],
                        model_ram_bytes=4096, clk_hz=4_000_000, baud=2_000_000)
    words = soc.tiles[0].ram_words

    before = {}

    def panic(ctx, cycle):
        ctx.set(soc.panic, 1 if cycle >= panic_cycle else 0)
        if cycle == panic_cycle - 1:             # model 1's halt cause, before it is reset
            before["cause1"] = ctx.get(soc.tiles[1].cause)

    probes = {"cause1": soc.tiles[1].cause, "viol0": soc.modelctl.viol_counts[0],
              "viol1": soc.modelctl.viol_counts[1]}
    for t in (0, 1):
        for i in (0, COUNTER_ADDR // 4, words - 1):
            probes[f"ram{t}_{i}"] = soc.tiles[t].ram_data[i]
    run = run_soc(soc, max(max_cycles, panic_cycle + words + 500), stimulus=panic,
                  probes=probes, trace=trace)
    scrubbed = tuple(all(v == 0 for k, v in run.probes.items() if k.startswith(f"ram{t}_"))
                     for t in (0, 1))
    return SocScenario(run, panic_cycle, HaltCause(before.get("cause1", 0)),
                       (run.probes["viol0"], run.probes["viol1"]), scrubbed)


def format_soc_timeline(sc):
    """The console lines, the operator's action and the latch's level changes, by cycle."""
    def annotate(text):
        if " HALT " in text:
            code = text.rsplit(" ", 1)[-1]
            try:
                return f"{text}   ({HaltCause(int(code, 16)).name})"
            except ValueError:
                pass
        return text
    events = [(c, "console", annotate(text)) for c, text in sc.run.console_lines]
    events.append((sc.panic_cycle, "operator", "presses the panic button"))
    for cycle, old, new, sources in sc.run.level_changes:
        gained = sorted(LEVEL_EFFECTS[new] - LEVEL_EFFECTS[old])
        events.append((cycle, "LATCH <- " + " + ".join(sources),
                       f"{old.name} -> {new.name}   new effects: {', '.join(gained)}"))
    lines = [f"{'cycle':>6}  {'source':<20} event", f"{'-' * 6}  {'-' * 20} {'-' * 50}"]
    for cycle, source, text in sorted(events, key=lambda e: e[0]):
        lines.append(f"{cycle:>6}  {source:<20} {text}")
    return "\n".join(lines)
