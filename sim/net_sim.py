"""A network peer for the simulated SoC: the far end of the NIC gate's UART link.

:func:`run_network` builds an SoC with the NIC gate (one model running
:func:`~guillotine.firmware.programs.network_model`, the hypervisor running
:func:`~guillotine.firmware.programs.gate_relay_hypervisor`), drives host frames bit by bit into
``net_rx`` and decodes what leaves on ``net_tx`` with the same host codec
(:mod:`guillotine.sim.nic_host`) a board would use through pyserial.
"""

from dataclasses import dataclass, field

from guillotine.firmware.programs import RX_BUFFER, gate_relay_hypervisor, network_model
from guillotine.hdl.soc import GuillotineSoC
from guillotine.sim.nic_host import DELIMITER, FrameDecoder, encode_frame
from guillotine.sim.soc_sim import run_soc

__all__ = ["run_network", "NetworkRun", "UartSampler"]


class UartSampler:
    """Decodes an 8N1 line sampled once per clock cycle (``divisor`` cycles per bit)."""

    def __init__(self, divisor):
        self.divisor = divisor
        self._count = None
        self._bits = []

    def sample(self, level):
        """Feed one sample; return a byte when one completes, else None."""
        if self._count is None:
            if level == 0:                       # start bit: sample bits at their middles
                self._count = self.divisor + self.divisor // 2
                self._bits = []
            return None
        self._count -= 1
        if self._count:
            return None
        if len(self._bits) < 8:
            self._bits.append(level)
            self._count = self.divisor
            return None
        self._count = None                      # stop bit
        return sum(b << i for i, b in enumerate(self._bits)) if level else None


@dataclass
class NetworkRun:
    """Frames the gate released (``(cycle, tag, payload)``) and what the model received."""
    released: list = field(default_factory=list)
    model_received: bytes = b""
    console: str = ""
    cycles: int = 0


def run_network(sends=(), *, message=b"HELLO", cycles=20_000, clk_hz=4_000_000,
                net_baud=250_000, max_frame=16):
    """Simulate; ``sends`` are ``(tag, payload)`` frames the host sends after power-up."""
    soc = GuillotineSoC(1, gate_relay_hypervisor(1), model_images=[network_model(message)],
                        model_ram_bytes=4096, clk_hz=clk_hz, baud=2_000_000, network=True,
                        net_baud=net_baud, gate_params=dict(max_frame=max_frame,
                                                            rate=max(1, net_baud // 10)))
    divisor = clk_hz // net_baud
    wire = []
    data = DELIMITER + b"".join(encode_frame(t, p, max_frame=max_frame) for t, p in sends)
    for byte in data:
        wire += [0] + [(byte >> i) & 1 for i in range(8)] + [1]
    start = 1000
    rx = UartSampler(divisor)
    decoder = FrameDecoder(max_frame)
    out = NetworkRun()

    def step(ctx, cycle):
        k = (cycle - start) // divisor
        ctx.set(soc.net_rx, wire[k] if 0 <= k < len(wire) else 1)
        byte = rx.sample(ctx.get(soc.net_tx))
        if byte is not None:
            for tag, payload in decoder.feed(bytes([byte])):
                out.released.append((cycle, tag, payload))

    words = [soc.tiles[0].ram_data[RX_BUFFER // 4 + i] for i in range(max_frame // 4 + 1)]
    probes = {f"w{i}": w for i, w in enumerate(words)}
    probes["len"] = soc.tiles[0].ram_data[RX_BUFFER // 4 - 1]
    run = run_soc(soc, max(cycles, start + len(wire) * divisor + 4000), stimulus=step,
                  probes=probes)
    raw = b"".join(run.probes[f"w{i}"].to_bytes(4, "little") for i in range(len(words)))
    out.model_received = raw[:run.probes["len"]]
    out.console, out.cycles = run.console, run.cycles
    return out
