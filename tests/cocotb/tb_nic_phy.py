"""cocotb testbench of the NIC gate's UART PHY (hdl/nic_phy.py UartPhy) on Icarus and Verilator.

The serial lines are driven and watched bit by bit with real time (``Timer`` in ps, asynchronous
to the clock, so the receiver's synchroniser and sampling are exercised): a host-side UART driver
on ``line_rx`` and a host-side UART monitor on ``line_tx``; the frame streams are driven and
collected once per clock at the falling edge. The host side (``guillotine.sim.nic_host``) encodes
the frames and is the reference decoder. Parameters arrive as JSON in GUILLOTINE_TB_PARAMS:
``divisor`` (cycles per bit), ``max_frame``; GUILLOTINE_TB_SEED seeds the traffic.
"""

import json
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, Timer

from guillotine.sim.nic_host import FrameDecoder, damaged_stream, encode_frame

PARAMS = json.loads(os.environ.get("GUILLOTINE_TB_PARAMS", '{"divisor": 16, "max_frame": 32}'))
SEED = int(os.environ.get("GUILLOTINE_TB_SEED", "1"))
DIVISOR = PARAMS["divisor"]
MAX_FRAME = PARAMS["max_frame"]
PERIOD_PS = 10_000
BIT_PS = DIVISOR * PERIOD_PS
COUNTERS = ("rx_frames", "rx_bad_crc", "rx_oversize", "rx_framing", "rx_overflow",
            "tx_frames", "tx_dropped")


class Phy:
    """Clock, reset, stream driver/collector and line driver/monitor around the DUT."""

    def __init__(self, dut, rng, *, rx_ready=1.0):
        self.dut, self.rng, self.rx_ready = dut, rng, rx_ready
        self.txq = []
        self.frames, self._cur = [], []
        self.line_tx_bytes = bytearray()
        self.line_tx_idle = True           # line_tx was high at every falling edge seen

    async def start(self, tx_enable=1):
        dut = self.dut
        Clock(dut.clk, PERIOD_PS, unit="ps").start()
        dut.rst.value = 1
        dut.line_rx.value = 1
        dut.tx__valid.value = 0
        dut.tx__payload.value = 0
        dut.rx__ready.value = 0
        dut.tx_enable.value = tx_enable
        for _ in range(3):
            await FallingEdge(dut.clk)
        dut.rst.value = 0
        cocotb.start_soon(self._streams())
        cocotb.start_soon(self._monitor())

    def send(self, tag, payload):
        data = [tag, *payload]
        self.txq.extend((b, i == len(data) - 1) for i, b in enumerate(data))

    async def _streams(self):
        dut = self.dut
        while True:
            await FallingEdge(dut.clk)
            if self.txq:
                b, last = self.txq[0]
                dut.tx__payload.value = b | (last << 8)
            dut.tx__valid.value = int(bool(self.txq))
            ready = int(self.rng.random() < self.rx_ready)
            dut.rx__ready.value = ready
            await ReadOnly()
            if int(dut.line_tx.value) == 0:
                self.line_tx_idle = False
            if self.txq and int(dut.tx__ready.value):
                self.txq.pop(0)
            if ready and int(dut.rx__valid.value):
                word = int(dut.rx__payload.value)
                assert word >> 9 == 0, "UART PHY must never mark a delivered frame bad"
                self._cur.append(word & 0xFF)
                if word >> 8 & 1:
                    self.frames.append((self._cur[0], bytes(self._cur[1:])))
                    self._cur = []

    async def _monitor(self):
        """Host-side 8N1 receiver on line_tx (samples mid-bit at the nominal rate)."""
        dut = self.dut
        while True:
            await FallingEdge(dut.line_tx)
            await Timer(BIT_PS // 2, unit="ps")
            if int(dut.line_tx.value):
                continue
            byte = 0
            for i in range(8):
                await Timer(BIT_PS, unit="ps")
                byte |= int(dut.line_tx.value) << i
            await Timer(BIT_PS, unit="ps")
            assert int(dut.line_tx.value) == 1, "stop bit on line_tx"
            self.line_tx_bytes.append(byte)

    async def drive(self, data, *, bit_ps=BIT_PS, gap_bits=0):
        """Send ``data`` 8N1 on line_rx, back to back (``gap_bits`` of idle after each byte)."""
        dut = self.dut
        for byte in data:
            for bit in [0] + [(byte >> i) & 1 for i in range(8)] + [1]:
                dut.line_rx.value = bit
                await Timer(bit_ps, unit="ps")
            if gap_bits:
                await Timer(gap_bits * bit_ps, unit="ps")

    async def settle(self, bits=30):
        await Timer(bits * BIT_PS, unit="ps")

    async def wait_tx_done(self, frames, limit_bits=100_000):
        """Wait until ``frames`` frames were sent or dropped in all."""
        for _ in range(limit_bits):
            done = self.counters()
            if not self.txq and done["tx_frames"] + done["tx_dropped"] >= frames:
                return
            await Timer(BIT_PS, unit="ps")
        raise AssertionError("transmitter did not finish")

    def counters(self):
        return {name: int(getattr(self.dut, name).value) for name in COUNTERS}


def _random_frames(rng, count, *, min_len=0):
    return [(rng.randrange(256), bytes(rng.randrange(256) for _ in
                                       range(rng.randrange(min_len, MAX_FRAME + 1))))
            for _ in range(count)]


@cocotb.test()
async def random_frames_back_to_back_in(dut):
    """Host-encoded random frames, back to back on line_rx, with a consumer that stalls at
    random: every frame arrives once, in order, unchanged."""
    rng = random.Random(SEED)
    phy = Phy(dut, rng, rx_ready=0.5)
    await phy.start()
    frames = _random_frames(rng, 10)
    await phy.drive(b"".join(encode_frame(t, p) for t, p in frames))
    await phy.settle()
    assert phy.frames == frames
    assert phy.counters() == dict(rx_frames=10, rx_bad_crc=0, rx_oversize=0, rx_framing=0,
                                  rx_overflow=0, tx_frames=0, tx_dropped=0)


@cocotb.test()
async def random_frames_out(dut):
    """Random frames on the tx stream come out of line_tx as exactly the host's encoding (after
    the reset delimiter), and the host decoder gets them back."""
    rng = random.Random(SEED + 1)
    phy = Phy(dut, rng)
    await phy.start()
    frames = _random_frames(rng, 8)
    for tag, payload in frames:
        phy.send(tag, payload)
    await phy.wait_tx_done(len(frames))
    await phy.settle(15)
    assert bytes(phy.line_tx_bytes) == b"\x00" + b"".join(encode_frame(*f) for f in frames)
    assert FrameDecoder(MAX_FRAME).feed(phy.line_tx_bytes) == frames
    assert phy.counters()["tx_frames"] == 8 and phy.counters()["tx_dropped"] == 0


@cocotb.test()
async def damaged_traffic_matches_host_model(dut):
    """Corrupted bytes, bad CRCs, truncated and oversized frames, garbage and empty frames, with
    short random gaps: the PHY delivers exactly the frames, and counts exactly the drops, of the
    host reference decoder; every good frame after damage arrives."""
    rng = random.Random(SEED + 2)
    phy = Phy(dut, rng, rx_ready=0.8)
    await phy.start()
    data, _ = damaged_stream(rng, MAX_FRAME, 14)
    model = FrameDecoder(MAX_FRAME)
    expected = model.feed(data)
    for i in range(0, len(data), 16):
        await phy.drive(data[i:i + 16], gap_bits=rng.choice([0, 0, 1, 3]))
    await phy.settle()
    assert phy.frames == expected
    got = phy.counters()
    assert {k: got[k] for k in model.stats.as_dict()} == model.stats.as_dict()
    dut._log.info("damaged traffic: %d bytes, %s", len(data), model.stats)
    assert model.stats.rx_frames >= 3 and sum(model.stats.as_dict().values()) > \
        model.stats.rx_frames


@cocotb.test()
async def baud_mismatch_tolerance_drops_and_recovery(dut):
    """A sender 4 % off either way is still received (mid-bit sampling, centred after the
    synchroniser); one 7 % off either way loses frames, which are counted and never delivered
    corrupted; back at the right rate, after one delimiter, every frame arrives."""
    rng = random.Random(SEED + 3)
    phy = Phy(dut, rng)
    await phy.start()
    for ratio in (1.04, 1 / 1.04):
        frames = _random_frames(rng, 3, min_len=MAX_FRAME // 2)
        before = len(phy.frames)
        await phy.drive(b"".join(encode_frame(t, p) for t, p in frames),
                        bit_ps=round(BIT_PS / ratio))
        await phy.settle()
        assert phy.frames[before:] == frames, f"sender at {ratio:.3f} x baud"
    assert phy.counters()["rx_frames"] == 6
    for ratio in (1.07, 1 / 1.07):
        lost_before = phy.counters()
        before = len(phy.frames)
        frames = _random_frames(rng, 5, min_len=MAX_FRAME // 2)
        await phy.drive(b"".join(encode_frame(t, p) for t, p in frames),
                        bit_ps=round(BIT_PS / ratio))
        await phy.settle()
        lost = phy.counters()
        got = phy.frames[before:]
        dut._log.info("sender at %.3f x baud: %d of %d frames delivered, counters %s",
                      ratio, len(got), len(frames), lost)
        assert all(frame in frames for frame in got), "a corrupted frame was delivered"
        assert len(got) < len(frames)
        assert sum(lost[k] - lost_before[k] for k in ("rx_bad_crc", "rx_framing",
                                                      "rx_oversize")) >= 1
        assert lost["rx_frames"] == len(phy.frames)
        # back at the right rate: one delimiter, then every frame
        before = len(phy.frames)
        good = _random_frames(rng, 3)
        await phy.drive(b"\x00" + b"".join(encode_frame(t, p) for t, p in good))
        await phy.settle()
        assert phy.frames[before:] == good
        after = phy.counters()
        assert after["rx_frames"] == lost["rx_frames"] + 3
        assert all(after[k] == lost[k] for k in ("rx_bad_crc", "rx_oversize", "rx_overflow"))


@cocotb.test()
async def tx_disabled_line_stays_idle(dut):
    """With tx_enable low the transmit line never leaves idle; offered frames are discarded."""
    rng = random.Random(SEED + 4)
    phy = Phy(dut, rng)
    await phy.start(tx_enable=0)
    for tag, payload in _random_frames(rng, 3):
        phy.send(tag, payload)
    await phy.settle(60)
    assert phy.line_tx_idle and not phy.line_tx_bytes and not phy.txq
    assert phy.counters()["tx_dropped"] == 3 and phy.counters()["tx_frames"] == 0
