"""NIC gate benchmark: size with its UART PHY, release latency and sustained throughput.

    python benchmarks/nic_gate.py

Prints a table and writes docs/nic_gate_bench.md. Size: the gate (2 models, 256-byte frames)
plus its UART PHY, synthesised for iCE40UP5K (synthesis counts: the block has more port bits
than the package has pins). Latency: Amaranth simulator, cycles from the clock edge that takes the
hypervisor's RELEASE write to the start bit on the line. Throughput: frames of ``max_frame``
bytes released back to back; payload bytes per second on the line against the line's raw limit
(baud / 10 bytes per second), with the rate limiter set above the line rate.
"""

import argparse
import datetime
import sys
from pathlib import Path

from amaranth import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from guillotine.boards.synth import synthesize_ice40  # noqa: E402
from guillotine.hdl.nic_gate import GATE_REGISTERS, NicGate  # noqa: E402
from guillotine.hdl.nic_phy import UartPhy  # noqa: E402
from guillotine.hdl.soc import MailboxSignature  # noqa: E402
from guillotine.report import machine_description, markdown_table, publish  # noqa: E402
from guillotine.sim.amaranth_sim import simulate  # noqa: E402
from guillotine.hdl.regs import CSRSignature  # noqa: E402

CLK, BAUD = 4_000_000, 250_000


class GateWithPhy(wiring.Component):
    """NicGate + UartPhy, with the model mailboxes and hypervisor CSR ports at the top."""

    def __init__(self, n_models=2, max_frame=256, **gate):
        self.gate = NicGate(n_models, max_frame=max_frame, clk_hz=CLK, **gate)
        self.phy = UartPhy(CLK, BAUD, max_frame)
        members = {"line_tx": Out(1), "line_rx": In(1, init=1)}
        for n in range(n_models):
            members[f"mailbox_{n}"] = In(MailboxSignature())
            members[f"csr_{n}"] = In(CSRSignature(GATE_REGISTERS.addr_width))
        self._n = n_models
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        m.submodules.gate, m.submodules.phy = gate, phy = self.gate, self.phy
        wiring.connect(m, gate.phy_tx, phy.tx)
        wiring.connect(m, phy.rx, gate.phy_rx)
        m.d.comb += [phy.tx_enable.eq(1), self.line_tx.eq(phy.line_tx),
                     phy.line_rx.eq(self.line_rx)]
        for n in range(self._n):
            wiring.connect(m, wiring.flipped(getattr(self, f"mailbox_{n}")),
                           getattr(gate, f"mailbox_{n}"))
            wiring.connect(m, wiring.flipped(getattr(self, f"csr_{n}")), getattr(gate, f"csr_{n}"))
        return m


def _word(name, block=GATE_REGISTERS):
    return block[name].offset // 4


def measure(frames, max_frame):
    """Release-to-start-bit cycles, and cycles to send ``frames`` frames back to back."""
    dut = GateWithPhy(1, max_frame=max_frame, buffer_frames=2, rate=CLK,
                      burst=2 * max_frame, credits=255)
    out = {}
    clock = {"cycle": 0}

    async def bench(ctx):
        mb, csr = dut.mailbox_0, dut.csr_0

        async def tick():
            await ctx.tick()
            clock["cycle"] += 1

        async def mbox_write(word, value):
            ctx.set(mb.adr, word)
            ctx.set(mb.dat_w, value)
            for sig in (mb.we, mb.cyc, mb.stb):
                ctx.set(sig, 1)
            await tick()
            for sig in (mb.cyc, mb.stb):
                ctx.set(sig, 0)

        async def commit_frame():
            for i in range(max_frame):
                await mbox_write(0, i & 0xFF)          # TX_DATA
            await mbox_write(1, 0)                     # TX_COMMIT

        def read(name):
            ctx.set(csr.addr, _word(name))
            return ctx.get(csr.r_data)

        async def release():
            ctx.set(csr.addr, _word("CMD"))
            ctx.set(csr.w_data, 1)
            ctx.set(csr.w_stb, 1)
            await tick()
            ctx.set(csr.w_stb, 0)

        for _ in range(12 * CLK // BAUD):              # the PHY's initial delimiter
            await tick()
        await commit_frame()
        await release()
        latency = 1
        while ctx.get(dut.line_tx):
            await tick()
            latency += 1
        out["latency"] = latency
        # Back to back: the model refills the quarantine while a frame is on the wire, and the
        # hypervisor releases each frame as soon as the previous one left the buffer.
        start = clock["cycle"] - latency
        for _ in range(frames - 1):
            await commit_frame()
            while not (read("STATUS") & 0xF and not read("STATUS") >> 8 & 1
                       and not read("STATUS") >> 9 & 1):
                await tick()
            await release()
        # Until the line has been idle for 20 bit times; the last frame ends with its stop bit.
        divisor, idle, last_low = CLK // BAUD, 0, clock["cycle"]
        while idle < 20 * divisor:
            await tick()
            if ctx.get(dut.line_tx):
                idle += 1
            else:
                idle, last_low = 0, clock["cycle"]
        out["released"] = read("RELEASED")
        out["cycles"] = last_low + divisor - start
    simulate(dut, bench)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "nic_gate_bench.md"))
    args = parser.parse_args()

    synth = synthesize_ice40(GateWithPhy(2, max_frame=256), "gate_phy", pnr=False)
    size = [("block", "SB_LUT4", "FF", "EBR"),
            ("NicGate(2 models, 256-byte frames) + UartPhy", str(synth.lut), str(synth.ff),
             str(synth.ebr))]

    rows = [("frame payload", "RELEASE -> start bit (cycles)",
             "sustained payload throughput (8 frames back to back)", "of the line limit")]
    line_limit = BAUD / 10                              # bytes per second, 8N1
    for max_frame in (16, 64, 200):
        r = measure(8, max_frame)
        assert r["released"] == 8, r
        rate = 8 * max_frame / (r["cycles"] / CLK)
        rows.append((f"{max_frame} bytes", str(r["latency"]), f"{rate:,.0f} B/s",
                     f"{100 * rate / line_limit:.1f} % of {line_limit:,.0f} B/s"))
    when = datetime.date.today().isoformat()
    text = f"""# NIC gate benchmark

Measured by `python benchmarks/nic_gate.py` on {when} ({machine_description()}); YoWASP Yosys
for iCE40UP5K (synthesis counts; the block's ports exceed the package pins); Amaranth simulator at
{CLK / 1e6:g} MHz with a {BAUD:,}-baud link ({CLK // BAUD} cycles per bit).

## Size

{markdown_table(size)}

## Latency and throughput

{markdown_table(rows)}

The latency includes the PHY's framing: the transmitter collects the frame's first COBS block
before its first byte can go out (see docs/nic_phy.md), so it grows with the frame. Throughput:
the line also carries the delimiter, the COBS code byte, the tag and the CRC of every frame; the
rate limiter was set above the line rate here, so the line is the limit.
"""
    publish(args.out, text, (size, rows))


if __name__ == "__main__":
    main()
