"""NIC PHY (hdl/nic_phy.py, UartRx in hdl/uart.py) and its host side (sim/nic_host.py).

Amaranth-simulator tests: the CRC equals crcmod's, the framer's bytes equal the host encoder's,
the deframer equals the host decoder (the reference model) on streams full of damage, and the
whole UART PHY works bit-level: loopback, host bytes on ``line_rx``, UART framing errors, a stalled
consumer, and ``tx_enable`` holding the line idle.
"""

import random
from collections import deque

import pytest
from amaranth.hdl import Fragment
from amaranth.sim import Simulator
from hypothesis import HealthCheck, given, settings, strategies as st

from guillotine import GuillotineError
from guillotine.hdl.nic_phy import (CRC_ALGORITHM, RX_COUNTERS, TX_COUNTERS, CobsDeframer,
                                    CobsFramer, UartPhy)
from guillotine.hdl.uart import UartRx
from guillotine.sim.nic_host import (FrameDecoder, FrameStats, crc16, damaged_stream,
                                     decode_stream, encode_frame)

BAUD = 115200
DIVISOR = 8
CLK = BAUD * DIVISOR
SLOW = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])

frames_st = st.lists(st.tuples(st.integers(0, 255), st.binary(max_size=12)), min_size=1,
                     max_size=3)


def _run(dut, bench):
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


def _counters(ctx, dut, names):
    return {name: ctx.get(getattr(dut, name)) for name in names}


def _uart_bits(data, divisor=DIVISOR, *, stop=1, idle=2):
    """Per-cycle line levels of ``data`` sent 8N1 (``stop=0`` gives a framing error)."""
    levels = []
    for byte in data:
        for bit in [0] + [(byte >> i) & 1 for i in range(8)] + [stop]:
            levels += [bit] * divisor
        levels += [1] * idle
    return levels


class Phy:
    """Cycle loop around a UartPhy: feeds ``tx``, drives ``line_rx``, collects ``rx`` frames."""

    def __init__(self, dut, ctx):
        self.dut, self.ctx = dut, ctx
        self.txq = deque()
        self.line = deque()            # per-cycle levels for line_rx; None: loop line_tx back
        self.loopback = False
        self.frames, self._cur = [], []
        self.line_tx = []              # sampled line_tx levels
        self.rx_ready = 1
        self.tx_enable = 1

    def send(self, tag, payload):
        data = [tag, *payload]
        self.txq.extend((b, i == len(data) - 1) for i, b in enumerate(data))

    async def step(self):
        ctx, dut = self.ctx, self.dut
        ctx.set(dut.tx_enable, self.tx_enable)
        if self.txq:
            b, last = self.txq[0]
            ctx.set(dut.tx.payload.data, b)
            ctx.set(dut.tx.payload.last, last)
        ctx.set(dut.tx.valid, bool(self.txq))
        ctx.set(dut.rx.ready, self.rx_ready)
        tx_level = ctx.get(dut.line_tx)
        self.line_tx.append(tx_level)
        if self.loopback:
            ctx.set(dut.line_rx, tx_level)
        else:
            ctx.set(dut.line_rx, self.line.popleft() if self.line else 1)
        if self.txq and ctx.get(dut.tx.ready):
            self.txq.popleft()
        if self.rx_ready and ctx.get(dut.rx.valid):
            assert ctx.get(dut.rx.payload.bad) == 0
            self._cur.append(ctx.get(dut.rx.payload.data))
            if ctx.get(dut.rx.payload.last):
                self.frames.append((self._cur[0], bytes(self._cur[1:])))
                self._cur = []
        await ctx.tick()

    async def run(self, cycles):
        for _ in range(cycles):
            await self.step()

    async def run_until(self, done, limit):
        for _ in range(limit):
            if done():
                return
            await self.step()
        raise AssertionError(f"timed out after {limit} cycles")

    def idle(self):
        return not self.txq and not self.line


def _line_bytes(levels, divisor=DIVISOR):
    """Decode 8N1 bytes from per-cycle line levels (the host's view of ``line_tx``)."""
    out, i = [], 0
    while i < len(levels):
        if levels[i] == 0:
            mid = i + divisor // 2
            bits = [levels[mid + divisor * k] for k in range(1, 9)]
            assert levels[mid + 9 * divisor] == 1, "stop bit"
            out.append(sum(b << k for k, b in enumerate(bits)))
            i = mid + 9 * divisor
        else:
            i += 1
    return bytes(out)


# ---- CRC and host side --------------------------------------------------------------------

def test_crc_check_value():
    assert crc16(b"123456789") == 0x29B1 == CRC_ALGORITHM(data_width=8).compute(b"123456789")


@given(st.binary(max_size=300))
@settings(max_examples=200, deadline=None)
def test_crc_equals_crcmod(data):
    """The hardware's CRC definition (amaranth.lib.crc) is the host's (crcmod)."""
    assert CRC_ALGORITHM(data_width=8).compute(data) == crc16(data)


@given(st.lists(st.tuples(st.integers(0, 255), st.binary(max_size=600)), max_size=5))
@settings(max_examples=100, deadline=None)
def test_host_roundtrip(frames):
    line = b"".join(encode_frame(t, p) for t, p in frames)
    got, stats = decode_stream(line, max_frame=600)
    assert got == frames and stats.rx_frames == len(frames)
    for tag, payload in frames:                 # one zero per frame: its delimiter
        encoded = encode_frame(tag, payload)
        assert encoded.index(0) == len(encoded) - 1


def test_host_drops_and_counts():
    good = encode_frame(7, b"ok")
    bad_crc = bytearray(encode_frame(1, b"abc"))
    bad_crc[2] ^= 0x01
    big = encode_frame(2, bytes(range(1, 12)))          # 11 payload bytes > max_frame 10
    truncated = encode_frame(3, b"0123456789")[:-4] + b"\x00"
    short = b"\x02\x05\x00"                             # one decoded byte
    stream = b"\x00\x00" + bytes(bad_crc) + big + truncated + short + good + b"\x11\x22"
    frames, stats = decode_stream(stream, max_frame=10)
    assert frames == [(7, b"ok")]
    assert stats == FrameStats(rx_frames=1, rx_bad_crc=1, rx_oversize=1, rx_framing=2)
    with pytest.raises(GuillotineError, match="tag"):
        encode_frame(256, b"")
    with pytest.raises(GuillotineError, match="max_frame"):
        encode_frame(1, b"abc", max_frame=2)


def test_serial_link_loopback():
    """SerialLink over pyserial's loop:// URL: frames sent come back decoded."""
    from guillotine.sim.nic_host import SerialLink
    with SerialLink("loop://", 115200, max_frame=16) as link:
        link.send(3, b"\x00ping\x00")
        link.send(4, b"")
        frames = []
        for _ in range(10):
            frames += link.receive()
            if len(frames) == 2:
                break
        assert frames == [(3, b"\x00ping\x00"), (4, b"")]
        assert link.stats.rx_frames == 2
        with pytest.raises(GuillotineError, match="max_frame"):
            link.send(1, bytes(17))
    with pytest.raises(GuillotineError, match="cannot open serial port"):
        SerialLink("nonexistent://x")


# ---- Framer: bytes equal the host encoder ---------------------------------------------------

def _framer_bytes(frames, max_frame):
    dut = CobsFramer(max_frame)
    out = []

    async def bench(ctx):
        queue = deque()
        for tag, payload in frames:
            data = [tag, *payload]
            queue.extend((b, i == len(data) - 1) for i, b in enumerate(data))
        ctx.set(dut.source.ready, 1)
        idle = 0
        while idle < 20:
            if queue:
                ctx.set(dut.sink.payload.data, queue[0][0])
                ctx.set(dut.sink.payload.last, queue[0][1])
            ctx.set(dut.sink.valid, bool(queue))
            if queue and ctx.get(dut.sink.ready):
                queue.popleft()
            if ctx.get(dut.source.valid):
                out.append(ctx.get(dut.source.payload))
                idle = 0
            elif not queue:
                idle += 1
            await ctx.tick()
        assert ctx.get(dut.tx_frames) == len(frames) and ctx.get(dut.tx_dropped) == 0

    _run(dut, bench)
    return bytes(out)


def _full_block_payload():
    """A 251-byte payload whose tag + payload + CRC is exactly 254 non-zero bytes."""
    rng = random.Random(5)
    while True:
        payload = bytes(rng.randrange(1, 256) for _ in range(251))
        crc = crc16(b"\x09" + payload)
        if crc & 0xFF and crc >> 8:
            return payload


@pytest.mark.parametrize("case", ["empty", "zeros", "full_block", "long"])
def test_framer_edge_cases_equal_cobs_package(case):
    payload = {"empty": b"", "zeros": b"\x00\x00a\x00", "full_block": _full_block_payload(),
               "long": bytes(range(1, 256)) * 2 + b"\x00" + bytes(300)}[case]
    frames = [(9, payload), (0, b"")]
    expected = b"\x00" + b"".join(encode_frame(t, p) for t, p in frames)
    assert _framer_bytes(frames, max_frame=1000) == expected


@given(st.lists(st.tuples(st.integers(0, 255),
                          st.binary(max_size=400) | st.builds(lambda n: bytes([1]) * n,
                                                              st.integers(248, 260))),
                min_size=1, max_size=3))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_framer_equals_host_encoder(frames):
    """Hardware COBS + CRC == cobs + crcmod, byte for byte (after the reset delimiter)."""
    expected = b"\x00" + b"".join(encode_frame(t, p) for t, p in frames)
    assert _framer_bytes(frames, max_frame=400) == expected


# ---- Deframer: equals the host decoder on damaged streams -----------------------------------

def _deframe(data, max_frame, *, ready=lambda cycle: 1, spacing=2, errors=()):
    dut = CobsDeframer(max_frame)
    frames, counters = [], {}

    async def bench(ctx):
        cur, cycle = [], 0
        todo = deque(enumerate(data))
        while todo or ctx.get(dut.source.valid) or cycle % spacing:
            ready_now = ready(cycle)
            ctx.set(dut.source.ready, ready_now)
            send = bool(todo) and cycle % spacing == 0
            ctx.set(dut.sink.valid, send)
            if send:
                i, byte = todo.popleft()
                ctx.set(dut.sink.payload.data, byte)
                ctx.set(dut.sink.payload.error, i in errors)
            if ready_now and ctx.get(dut.source.valid):
                assert ctx.get(dut.source.payload.bad) == 0
                cur.append(ctx.get(dut.source.payload.data))
                if ctx.get(dut.source.payload.last):
                    frames.append((cur[0], bytes(cur[1:])))
                    cur = []
            cycle += 1
            await ctx.tick()
            if cycle > 40 * len(data) + 1000:
                raise AssertionError("deframer does not drain")
        assert cur == []
        counters.update(_counters(ctx, dut, RX_COUNTERS))

    _run(dut, bench)
    return frames, counters


@given(st.integers(0, 2**32))
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_deframer_equals_host_decoder(seed):
    rng = random.Random(seed)
    data, _ = damaged_stream(rng, 12, 10)
    model = FrameDecoder(12)
    expected = model.feed(data)
    frames, counters = _deframe(data, 12)
    assert frames == expected
    assert counters == model.stats.as_dict()


def test_deframer_counts_each_kind_and_recovers():
    good = [(1, b"first"), (2, b""), (3, b"last")]
    flip = bytearray(encode_frame(5, b"abcdef"))
    flip[3] ^= 0x10
    data = (b"\x00" + encode_frame(*good[0]) + bytes(flip)
            + encode_frame(6, bytes(13))                  # oversize (max_frame 12)
            + encode_frame(7, b"0123456789")[:6] + b"\x00"  # truncated
            + b"\x13\x37\x00"                             # garbage ending at a delimiter
            + b"\x03\xff\xff\x00"                         # CRC of nothing: too short
            + b"\x02\x05\x00"                             # one byte: too short
            + encode_frame(*good[1]) + b"\x55\xaa"        # garbage glued to the next frame
            + encode_frame(9, b"lost") + encode_frame(*good[2]))
    frames, counters = _deframe(data, 12)
    assert frames == good
    assert counters == dict(rx_frames=3, rx_bad_crc=1, rx_oversize=1, rx_framing=5,
                            rx_overflow=0)


def test_deframer_uart_error_poisons_frame():
    data = encode_frame(1, b"abc") + encode_frame(2, b"def")
    frames, counters = _deframe(data, 12, errors={2})
    assert frames == [(2, b"def")] and counters["rx_framing"] == 1


def test_deframer_overflow_when_consumer_stalls():
    """A consumer that stalls: frames that do not fit are dropped and counted, none is torn."""
    sent = [(i, bytes([i]) * 12) for i in range(1, 7)]   # 13 entries each, ring of 16
    data = b"".join(encode_frame(t, p) for t, p in sent)
    stall = 2 * len(data) + 5                               # ready again after the last frame
    frames, counters = _deframe(data, 12, ready=lambda c: c > stall)
    assert frames == sent[:1]
    assert counters["rx_frames"] == 1 and counters["rx_overflow"] == 5


# ---- UartRx ------------------------------------------------------------------------------

def test_uart_rx_bytes_glitch_and_framing_error():
    dut = UartRx(DIVISOR)
    got = []

    async def bench(ctx):
        levels = ([1] * 5 + [0, 0, 1] + [1] * 10                    # glitch shorter than 1/2 bit
                  + _uart_bits(b"\x55\xa3\x00") + _uart_bits(b"\x7e", stop=0, idle=0)
                  + [0] * 40 + [1] * 20 + _uart_bits(b"\x42"))
        for level in levels + [1] * 30:
            ctx.set(dut.rx, level)
            if ctx.get(dut.valid):
                got.append((ctx.get(dut.data), ctx.get(dut.error)))
            await ctx.tick()

    _run(dut, bench)
    # the break after 0x7e gives one error (held low to its end), not a stream of zero bytes
    assert got == [(0x55, 0), (0xA3, 0), (0x00, 0), (0x7E, 1), (0x42, 0)]


# ---- UartPhy, bit level --------------------------------------------------------------------

def _phy_bench(body, **kwargs):
    dut = UartPhy(CLK, BAUD, **kwargs)
    result = {}

    async def bench(ctx):
        phy = Phy(dut, ctx)
        await body(phy)
        result.update(_counters(ctx, dut, TX_COUNTERS + RX_COUNTERS))
        result["phy"] = phy

    _run(dut, bench)
    return result


@given(frames_st)
@SLOW
def test_phy_loopback(frames):
    """Random frames out of line_tx, looped into line_rx, arrive unchanged; the line carries
    exactly the host encoding."""
    async def body(phy):
        phy.loopback = True
        for tag, payload in frames:
            phy.send(tag, payload)
        await phy.run_until(lambda: len(phy.frames) == len(frames), 200_000)
        await phy.run(3 * DIVISOR)

    res = _phy_bench(body)
    assert res["phy"].frames == frames
    assert _line_bytes(res["phy"].line_tx) == b"\x00" + b"".join(encode_frame(*f)
                                                                 for f in frames)
    assert res["tx_frames"] == res["rx_frames"] == len(frames)
    assert res["rx_bad_crc"] == res["rx_framing"] == res["tx_dropped"] == 0


@given(st.integers(0, 2**32))
@SLOW
def test_phy_line_rx_matches_host_decoder(seed):
    """Host-encoded, damaged byte streams driven bit-level into line_rx: same frames and counts
    as the host decoder; every good frame after damage still arrives."""
    rng = random.Random(seed)
    data, _ = damaged_stream(rng, 8, 6)
    model = FrameDecoder(8)
    expected = model.feed(data)

    async def body(phy):
        phy.line.extend(_uart_bits(data, idle=rng.randrange(0, 3)))
        await phy.run_until(phy.idle, 10**6)
        await phy.run(4 * DIVISOR)

    res = _phy_bench(body, max_frame=8)
    assert res["phy"].frames == expected
    assert {k: res[k] for k in RX_COUNTERS} == model.stats.as_dict()


def test_phy_framing_error_and_recovery():
    """A byte with a low stop bit drops its frame (rx_framing); the next frame arrives."""
    first, second = encode_frame(1, b"cut"), encode_frame(2, b"fine")
    levels = (_uart_bits(first[:3]) + _uart_bits(first[3:4], stop=0) + [1] * 20
              + _uart_bits(first[4:] + second))

    async def body(phy):
        phy.line.extend(levels)
        await phy.run_until(phy.idle, 10**5)
        await phy.run(4 * DIVISOR)

    res = _phy_bench(body)
    assert res["phy"].frames == [(2, b"fine")]
    assert res["rx_framing"] == 1 and res["rx_frames"] == 1


def test_phy_tx_enable_holds_line_idle_and_recovers():
    """tx_enable low: line_tx high in the same cycle and for as long as it is low, the frame in
    flight is cut, frames offered meanwhile are discarded; afterwards the next frame arrives
    whole at the far end, after a 0x00 that makes the far end drop the cut remains."""
    long_payload = bytes(range(40))

    async def body(phy):
        phy.loopback = True
        phy.send(1, long_payload)
        # wait until the frame is on the wire, then cut it mid-byte
        await phy.run(12 * 10 * DIVISOR + 3)
        assert 0 in phy.line_tx[-10 * DIVISOR:]
        phy.tx_enable = 0
        mark = len(phy.line_tx)
        phy.send(2, b"while severed")
        await phy.run(30 * DIVISOR)
        assert phy.line_tx[mark:] == [1] * (len(phy.line_tx) - mark)
        assert not phy.txq, "frames offered while severed are taken and discarded"
        assert phy.ctx.get(phy.dut.tx_dropped) == 2
        phy.tx_enable = 1
        phy.send(3, b"after")
        await phy.run_until(lambda: phy.frames, 10**5)

    res = _phy_bench(body)
    assert res["phy"].frames == [(3, b"after")]
    assert res["tx_frames"] == 1 and res["tx_dropped"] == 2
    assert res["rx_frames"] == 1 and res["rx_framing"] + res["rx_bad_crc"] == 1


def test_phy_tx_disabled_from_reset_sends_nothing():
    async def body(phy):
        phy.tx_enable = 0
        phy.send(4, b"never")
        await phy.run(200)

    res = _phy_bench(body)
    assert set(res["phy"].line_tx) == {1}
    assert res["tx_frames"] == 0 and res["tx_dropped"] == 1


def test_phy_oversized_tx_frame_is_cut():
    async def body(phy):
        phy.loopback = True
        phy.send(1, bytes(range(1, 10)))          # 9 > max_frame 8
        phy.send(2, b"ok")
        phy.send(3, bytes(range(8)))              # exactly max_frame
        await phy.run_until(lambda: len(phy.frames) == 2, 10**5)

    res = _phy_bench(body, max_frame=8)
    assert res["phy"].frames == [(2, b"ok"), (3, bytes(range(8)))]
    assert res["tx_dropped"] == 1 and res["tx_frames"] == 2


# ---- parameters ------------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    ((1_000_000, 300_000), "not reachable"),
    ((12_000_000, 0), "baud must be"),
    ((1_000_000, 900_000), "at least 2"),
    ((1_000_000, 333_333), "at least 4 cycles"),
    ((12_000_000, 115200, 0), "max_frame"),
    ((12_000_000, 115200, 4097), "max_frame"),
    ((12_000_000, 115200, True), "max_frame"),
])
def test_phy_parameter_errors(args, message):
    with pytest.raises(GuillotineError, match=message):
        UartPhy(*args)


def test_component_parameter_errors():
    with pytest.raises(GuillotineError, match="max_frame"):
        CobsFramer(0)
    with pytest.raises(GuillotineError, match="max_frame"):
        CobsDeframer(10**6)
    with pytest.raises(GuillotineError, match="counter_width"):
        CobsDeframer(16, counter_width=0)
    with pytest.raises(GuillotineError, match="divisor"):
        UartRx(3)
    phy = UartPhy(CLK, BAUD, max_frame=100)
    assert (phy.divisor, phy.baud, phy.max_frame) == (DIVISOR, BAUD, 100)
    deframer = CobsDeframer(100)
    assert deframer.buffer_depth == 128
    from amaranth.back import rtlil
    rtlil.convert(phy)                     # elaborated, so no UnusedElaboratable warning
    Fragment.get(deframer, None)           # its always-ready sink has no `ready` port to export


# ---- formal (SymbiYosys, k-induction) -------------------------------------------------------

@pytest.mark.formal
def test_formal_tx_line_idle_when_disabled():
    """PHY.TX.SEVER_IDLE: tx_enable low -> line_tx high, in every state, for all inputs."""
    from guillotine.hdl.nic_phy import UartPhyProperties
    from guillotine.sim.formal import assert_formal
    assert_formal(UartPhyProperties(), mode="prove", depth=2, name="nic_phy_sever_idle")


@pytest.mark.formal
def test_formal_deframer_stream_and_ring():
    """PHY.RX.STREAM and PHY.RX.RING for every byte sequence and consumer behaviour."""
    from guillotine.hdl.nic_phy import CobsDeframerProperties
    from guillotine.sim.formal import assert_formal
    assert_formal(CobsDeframerProperties(), mode="prove", depth=4, name="nic_phy_deframer")
