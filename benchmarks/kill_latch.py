"""Kill latch benchmark: trip-to-effect latency and iCE40UP5K size/Fmax.

    python benchmarks/kill_latch.py [--no-pnr]

Prints a table and writes docs/kill_latch_bench.md. Latency is measured on the Amaranth
simulator: cycles from the clock edge that samples a trip condition to the first edge after which
the effect output is asserted (1 means "the next edge"). Size is measured with YoWASP Yosys and
nextpnr: the latch alone after synthesis (LUT4/FF/carry), and placed in a small pin harness (its
93 port bits do not fit the UP5K-SG48's 39 pins), which gives LC and Fmax.
"""

import argparse
import datetime
import sys
from pathlib import Path

from amaranth import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from guillotine.boards.synth import synthesize_ice40  # noqa: E402
from guillotine.report import machine_description, markdown_table, publish  # noqa: E402
from guillotine.hdl.kill_latch import KICK_MAGIC, KillLatch, Level  # noqa: E402
from guillotine.sim.amaranth_sim import simulate  # noqa: E402

PARAMS = dict(debounce_cycles=4, release_window=64, wdog_period=10, viol_threshold=2)

#: Configurations measured for size: the defaults, and a minimal one (2-of-2 keys, 8-bit
#: watchdog, 4-bit violation counter, 255-cycle window, 4-cycle debounce).
CONFIGS = {
    "default": {},
    "minimal": dict(n_keys=2, k=2, wdog_width=8, wdog_period=200, viol_width=4,
                    viol_threshold=3, release_window=255, debounce_cycles=4),
}


def measure_latency():
    """Cycles from trip condition to effect, per trip source."""
    results = {}

    def run(name, setup, trigger, release=None, effect="egress_block", extra=None):
        dut = KillLatch(**{**PARAMS, **(extra or {})})
        word = {r.name: r.offset // 4 for r in dut.registers.registers}

        async def bench(ctx):
            async def write(reg, value):
                ctx.set(dut.csr.addr, word[reg])
                ctx.set(dut.csr.w_data, value)
                ctx.set(dut.csr.w_stb, 1)
                await ctx.tick()
                ctx.set(dut.csr.w_stb, 0)
            await setup(ctx, dut, write)
            await trigger(ctx, dut, write, start=True)
            cycles = 0
            while not ctx.get(getattr(dut.effects, effect)) and cycles < 1000:
                await ctx.tick()
                cycles += 1
                await trigger(ctx, dut, write, start=False)
            results[name] = cycles
        simulate(dut, bench)

    async def nothing(ctx, dut, write):
        pass

    async def request(ctx, dut, write, start):
        if start:
            ctx.set(dut.csr.addr, dut.registers.word("REQUEST"))
            ctx.set(dut.csr.w_data, Level.PROBATION)
            ctx.set(dut.csr.w_stb, 1)
        else:
            ctx.set(dut.csr.w_stb, 0)

    async def violation(ctx, dut, write, start):
        ctx.set(dut.violation, 1 if start else 0)

    async def two_violations(ctx, dut, write):
        ctx.set(dut.violation, 1)
        await ctx.tick()
        ctx.set(dut.violation, 0)

    async def panic(ctx, dut, write, start):
        ctx.set(dut.panic, 1)

    async def arm(ctx, dut, write):
        await write("WDOG_CTRL", (1 << 8) | Level.PROBATION)
        await write("WDOG_KICK", KICK_MAGIC)

    async def wait_kick(ctx, dut, write, start):
        pass

    run("firmware request (REQUEST write)", nothing, request)
    run("violation counter (threshold pulse)", two_violations, violation)
    run("panic pin (2-flop synchroniser)", nothing, panic)
    run(f"watchdog (last kick, period {PARAMS['wdog_period']})", arm, wait_kick)
    return results


class PinHarness(wiring.Component):
    """Fits the latch onto 31 pins: w_data from a 32-bit shift register, r_data XOR-folded."""

    def __init__(self, latch):
        self.latch = latch
        super().__init__({
            "sdi": In(1), "addr": In(len(latch.csr.addr)), "w_stb": In(1), "violation": In(1),
            "panic": In(1), "keys": In(latch.n_keys), "level": Out(3), "level_valid": Out(1),
            "cause": Out(5), "effects": Out(8), "r_fold": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.latch = latch = self.latch
        shift = Signal(32)
        m.d.sync += shift.eq((shift << 1) | self.sdi)
        m.d.comb += [
            latch.csr.addr.eq(self.addr), latch.csr.w_stb.eq(self.w_stb),
            latch.csr.w_data.eq(shift), latch.violation.eq(self.violation),
            latch.panic.eq(self.panic), latch.keys.eq(self.keys),
            self.level.eq(latch.level), self.level_valid.eq(latch.level_valid),
            self.cause.eq(latch.cause), self.effects.eq(latch.effects.as_value()),
            self.r_fold.eq(latch.csr.r_data.xor()),
        ]
        return m


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-pnr", action="store_true", help="synthesis counts only")
    parser.add_argument("--out", default=str(ROOT / "docs" / "kill_latch_bench.md"))
    args = parser.parse_args()

    latency = measure_latency()
    rows = [("trip source", "latency to effect (cycles)")]
    rows += [(k, str(v)) for k, v in latency.items()]
    size = [("configuration", "SB_LUT4 / FF / SB_CARRY (latch alone)",
             "LC in pin harness (latch est. = LC - 32)", "Fmax MHz")]
    for label, params in CONFIGS.items():
        synth = synthesize_ice40(KillLatch(**params), "kill_latch", pnr=False)
        cells = f"{synth.lut} / {synth.ff} / {synth.carry}"
        if args.no_pnr:
            size.append((label, cells, "-", "-"))
            continue
        placed = synthesize_ice40(PinHarness(KillLatch(**params)), "latch_harness", freq_mhz=48)
        size.append((label, cells, f"{placed.lc} ({placed.lc - 32})", f"{placed.fmax_mhz:.1f}"))
    when = datetime.date.today().isoformat()
    machine = machine_description()


    text = f"""# Kill latch benchmark

Measured by `python benchmarks/kill_latch.py` on {when} ({machine}); iCE40UP5K-SG48 with
YoWASP Yosys/nextpnr. Default latch parameters: 3 keys, 16-bit watchdog, 8-bit violation
counter, 65,536-cycle release window, 16-cycle debounce. Goals: latency 1 cycle; under 150 LC.

## Trip-to-effect latency

Cycles from the clock edge that samples the trip condition to the edge after which the effect
output is high (watchdog: from the edge of the last kick).

{markdown_table(rows)}

## Size on iCE40UP5K

The latch's 93 port bits do not fit the UP5K-SG48's 39 pins, so LC and Fmax come from a pin
harness that feeds the 32-bit write data from a shift register (32 extra LCs) and XOR-folds the
read data into one pin.

{markdown_table(size)}
"""
    publish(args.out, text, (rows, size))


if __name__ == "__main__":
    main()
