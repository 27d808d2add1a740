"""SoC benchmark: iCE40UP5K resources and Fmax for n_models = 1, 2, 4, and simulation speed.

    python benchmarks/soc.py [--no-pnr] [--cycles N]

Prints a table and writes docs/soc_bench.md. Configuration measured (fits the UP5K): hypervisor
ROM 4 KiB and RAM 2 KiB (block RAM), models 0-1 with 64 KiB each (two SB_SPRAM256KA each),
models 2-3 with 1 KiB each (block RAM), the kill latch with default parameters and the mailbox
loopback in place of the NIC gate. The SoC's pins in the measured design: clock, reset, console
TX, network TX/RX, 8 LEDs, panic, 3 operator keys, and the relay/destruct pins (the other outputs are for
simulation). Simulation speed is measured on the Amaranth simulator running the hypervisor
monitor with one benign and one rogue model.
"""

import argparse
import datetime
import sys
import time
from pathlib import Path

from amaranth import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from guillotine import GuillotineError  # noqa: E402
from guillotine.boards.synth import synthesize_ice40  # noqa: E402
from guillotine.report import machine_description, markdown_table, publish  # noqa: E402
from guillotine.firmware.programs import (ROGUE_MODELS, counter_model,  # noqa: E402
                                          hypervisor_monitor)
from guillotine.hdl.soc import GuillotineSoC  # noqa: E402
from guillotine.sim.soc_sim import run_soc  # noqa: E402

UP5K_LC = 5280


class BoardPins(wiring.Component):
    """The SoC with only its board pins at the top level."""

    def __init__(self, soc):
        self.soc = soc
        super().__init__({"net_tx": Out(1), "net_rx": In(1), "console_tx": Out(1),
                          "leds": Out(8), "panic": In(1),
                          "keys": In(len(soc.keys)), "net_relay_open": Out(1),
                          "power_relay_open": Out(1), "destruct": Out(1)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.soc = soc = self.soc
        m.d.comb += [self.net_tx.eq(soc.net_tx), soc.net_rx.eq(self.net_rx),
                     self.console_tx.eq(soc.console_tx), self.leds.eq(soc.leds),
                     soc.panic.eq(self.panic), soc.keys.eq(self.keys),
                     self.net_relay_open.eq(soc.effects.net_relay_open),
                     self.power_relay_open.eq(soc.effects.power_relay_open),
                     self.destruct.eq(soc.effects.destruct)]
        return m


def board_soc(n_models, network=False):
    sizes = [64 * 1024 if n < 2 else 1024 for n in range(n_models)]
    net = dict(network=True, gate_params=dict(max_frame=256)) if network else {}
    return GuillotineSoC(n_models, hypervisor_monitor(n_models, ram_bytes=2048),
                         rom_bytes=4096, ram_bytes=2048, model_ram_bytes=sizes,
                         spram_models=min(2, n_models), **net)


def _speed_soc():
    return GuillotineSoC(2, hypervisor_monitor(2), model_ram_bytes=4096, clk_hz=4_000_000,
                         baud=2_000_000,
                         model_images=[counter_model(), ROGUE_MODELS["read_hypervisor_ram"][0]()])


def sim_speed(cycles):
    """Cycles per second on each backend (build time excluded for Icarus/Verilator)."""
    from guillotine.sim.cocotb_runner import run_cocotb
    speeds = {}
    start = time.perf_counter()
    run = run_soc(_speed_soc(), cycles)
    speeds["amaranth (Python simulator)"] = run.cycles / (time.perf_counter() - start)
    for sim in ("icarus", "verilator"):
        out = ROOT / "build" / f"soc_speed_{sim}.txt"
        run_cocotb(_speed_soc(), "tb_soc", simulator=sim, test_name=f"bench_{sim}",
                   extra_env={"GUILLOTINE_TB_CYCLES": cycles, "GUILLOTINE_TB_SPEED_FILE": out})
        speeds[f"{sim} (cocotb, Python testbench sampling every cycle)"] = float(
            out.read_text())
    return speeds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-pnr", action="store_true", help="synthesis counts only")
    parser.add_argument("--cycles", type=int, default=20_000, help="cycles for the speed run")
    parser.add_argument("--models", default="1,2,4")
    parser.add_argument("--pnr-models", default="1,2", help="configurations to place and route")
    parser.add_argument("--pnr-timeout", type=int, default=900, help="seconds per nextpnr run")
    parser.add_argument("--out", default=str(ROOT / "docs" / "soc_bench.md"))
    args = parser.parse_args()

    rows = [("n_models", "LC (of 5,280)", "SB_LUT4 / FF", "EBR (of 30)", "SPRAM (of 4)",
             "Fmax MHz")]
    pnr_models = {int(x) for x in args.pnr_models.split(",") if x}
    notes = []
    for n in (int(x) for x in args.models.split(",")):
        t0 = time.perf_counter()
        pnr = not args.no_pnr and n in pnr_models
        try:
            rep = synthesize_ice40(BoardPins(board_soc(n)), "soc", pnr=pnr, freq_mhz=24,
                                   timeout=args.pnr_timeout)
        except GuillotineError as exc:
            notes.append(f"n_models={n}: place and route did not finish: {str(exc)[:160]}")
            rep = synthesize_ice40(BoardPins(board_soc(n)), "soc", pnr=False)
        lc = f"{rep.lc} ({100 * rep.lc / UP5K_LC:.0f}%)" if rep.lc else "- (synthesis only)"
        fmax = f"{rep.fmax_mhz:.1f}" if rep.fmax_mhz else "-"
        rows.append((str(n), lc, f"{rep.lut} / {rep.ff}", str(rep.ebr), str(rep.spram), fmax))
        print(f"n_models={n}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    # The product configuration: two models with the NIC gate and its UART PHY (synthesis).
    rep = synthesize_ice40(BoardPins(board_soc(2, network=True)), "soc_net", pnr=False)
    rows.append(("2 + NIC gate + UART PHY", "- (synthesis only)", f"{rep.lut} / {rep.ff}",
                 str(rep.ebr), str(rep.spram), "-"))
    speeds = sim_speed(args.cycles)
    speed_rows = [("backend", "SoC cycles per second")]
    speed_rows += [(k, f"{v:,.0f}") for k, v in speeds.items()]
    when = datetime.date.today().isoformat()
    machine = machine_description()


    text = f"""# SoC benchmark

Measured by `python benchmarks/soc.py` on {when} ({machine}) with YoWASP Yosys
(SPRAM instantiated for models 0-1) and nextpnr for iCE40UP5K-SG48 at a 24 MHz constraint, seed 1.
Configuration: hypervisor ROM 4 KiB + RAM 2 KiB, models 0-1 with 64 KiB SPRAM each, models 2-3 with
1 KiB block RAM, kill latch (default parameters), mailbox loopback instead of the NIC gate,
console UART, timer, LEDs. Goal for n = 2 with gate and latch: at most 80 % of 5,280 LC.

## Resources and Fmax

{markdown_table(rows)}

{chr(10).join("- " + n for n in notes)}

## Simulation speed

Hypervisor monitor with one benign and one rogue model, {args.cycles:,} cycles.

{markdown_table(speed_rows)}
"""
    publish(args.out, text, (rows, speed_rows))


if __name__ == "__main__":
    main()
