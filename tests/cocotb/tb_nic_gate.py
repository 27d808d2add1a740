"""cocotb testbench of the NIC gate with its UART PHY (tests/test_nic_gate_cocotb.py GatePhyTop).

The testbench plays three parties at once:

- the models, through their mailbox ports (``mailbox_<n>``: TX_DATA/TX_COMMIT, RX_STATUS/RX_DATA/
  RX_POP), one access per clock, driven at the falling edge and answered combinationally;
- the hypervisor, through the gate's CSR ports (``csr_<n>``: STATUS, HEAD_LEN, HEAD_PTR/HEAD_DATA,
  CMD release/drop, counters);
- the network, bit by bit on ``line_rx``/``line_tx`` with the PHY testbench's UART driver and
  monitor (tests/cocotb/tb_nic_phy.py ``Phy.drive``/``Phy._monitor``, real time, asynchronous to
  the clock); ``guillotine.sim.nic_host`` encodes the traffic and is the reference decoder.

The gate's guarantees are checked end to end: only released frames reach the line, whole, in
order per model, with the hardware tag; ingress reaches the tagged model only, in order, through
damaged traffic and a baud mismatch, and recovers at the next valid frame; the latch's egress block
and network cut hold. Every wait is bounded and fails with a message (no hang). Parameters arrive
as JSON in GUILLOTINE_TB_PARAMS (``divisor``, ``max_frame``, ``models``, ``buffer_frames``,
``rx_frames``); GUILLOTINE_TB_SEED seeds the traffic.
"""

import json
import os
import random

import cocotb
from cobs import cobs
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, Lock, ReadOnly
from cocotb.utils import get_sim_time

from guillotine.hdl.nic_gate import GATE_REGISTERS, MAILBOX_REGISTERS
from guillotine.hdl.nic_phy import RX_COUNTERS
from guillotine.sim.nic_host import DELIMITER, FrameDecoder, crc16, encode_frame
from tb_nic_phy import BIT_PS, PERIOD_PS, Phy

PARAMS = json.loads(os.environ.get("GUILLOTINE_TB_PARAMS", '{"divisor": 16, "max_frame": 16, '
                                   '"models": 2, "buffer_frames": 2, "rx_frames": 2}'))
SEED = int(os.environ.get("GUILLOTINE_TB_SEED", "1"))
MAX_FRAME = PARAMS["max_frame"]
N = PARAMS["models"]
BUFFER = PARAMS["buffer_frames"]
DIVISOR = PARAMS["divisor"]
FRAME_CYCLES = (MAX_FRAME + 6) * 10 * DIVISOR      # a longest frame on the line, with slack

MB = {name: MAILBOX_REGISTERS.word(name) for name in
      ("TX_DATA", "TX_COMMIT", "TX_LEN", "RX_STATUS", "RX_DATA", "RX_POP")}
ST = GATE_REGISTERS["STATUS"]
ST_PENDING = 1 << ST.field("pending").offset
ST_SENDING = 1 << ST.field("sending").offset
ST_EGRESS_BLOCK = 1 << ST.field("egress_block").offset
ST_NET_CUT = 1 << ST.field("net_cut").offset
CMD_RELEASE = 1 << GATE_REGISTERS["CMD"].field("release").offset
CMD_DROP = 1 << GATE_REGISTERS["CMD"].field("drop").offset


def gword(name):
    return GATE_REGISTERS.word(name)


class Port:
    """One mailbox or CSR port. ``access`` drives a request at a falling edge and samples the
    combinational answer; the request stays asserted until the next ``access`` or ``idle``
    (back-to-back accesses, one per clock), so every sequence ends with ``idle``. A model's
    sender and reader share its mailbox port: each holds ``lock`` for its sequence."""

    def __init__(self, dut, prefix, mailbox):
        self.dut, self.mailbox = dut, mailbox
        self.sig = {name.split("__", 1)[1]: getattr(dut, name) for name in
                    ((f"{prefix}__{s}" for s in ("adr", "dat_w", "sel", "we", "cyc", "stb",
                                                  "dat_r", "ack", "err")) if mailbox else
                     (f"{prefix}__{s}" for s in ("addr", "w_stb", "w_data", "r_data")))}
        self.lock = Lock()
        self.reset()

    def reset(self):
        for name, sig in self.sig.items():
            if name in ("dat_r", "ack", "err", "r_data"):
                continue
            sig.value = 0

    async def access(self, word, value=None):
        """One access; mailbox: ``(ack, err, dat_r)``, CSR: ``r_data``."""
        s = self.sig
        await FallingEdge(self.dut.clk)
        if self.mailbox:
            s["adr"].value = word
            s["dat_w"].value = value or 0
            s["we"].value = int(value is not None)
            s["sel"].value = 0xF
            s["cyc"].value = 1
            s["stb"].value = 1
            await ReadOnly()
            return int(s["ack"].value), int(s["err"].value), int(s["dat_r"].value)
        s["addr"].value = word
        s["w_data"].value = value or 0
        s["w_stb"].value = int(value is not None)
        await ReadOnly()
        return int(s["r_data"].value)

    async def idle(self, cycles=1):
        """Deassert at the next falling edge and stay idle for ``cycles`` clocks."""
        await FallingEdge(self.dut.clk)
        if self.mailbox:
            self.sig["cyc"].value = 0
            self.sig["stb"].value = 0
            self.sig["we"].value = 0
        else:
            self.sig["w_stb"].value = 0
        if cycles > 1:
            await ClockCycles(self.dut.clk, cycles - 1, rising=False)

    async def ok(self, word, value=None):
        """A mailbox access that must be answered ``ack``; returns the data."""
        ack, err, data = await self.access(word, value)
        assert ack and not err, f"mailbox access to word {word} ({value}) answered err"
        return data


class Bench:
    """Clock, reset, ports and the line driver/monitor around GatePhyTop."""

    def __init__(self, dut, seed):
        self.dut = dut
        self.rng = random.Random(seed)
        self.phy = Phy(dut, self.rng)               # used for drive() and _monitor() only
        self.mbox = [Port(dut, f"mailbox_{n}", True) for n in range(N)]
        self.csr = [Port(dut, f"csr_{n}", False) for n in range(N)]
        self.line_tx_falls = 0

    async def start(self):
        dut = self.dut
        Clock(dut.clk, PERIOD_PS, unit="ps").start()
        dut.rst.value = 1
        dut.line_rx.value = 1
        dut.egress_block.value = 0
        dut.net_cut.value = 0
        for _ in range(3):
            await FallingEdge(dut.clk)
        dut.rst.value = 0
        cocotb.start_soon(self.phy._monitor())
        cocotb.start_soon(self._watch_line_tx())
        # The PHY's reset delimiter goes out with the first frame; let the line settle.
        await ClockCycles(dut.clk, 4, rising=False)

    async def _watch_line_tx(self):
        while True:
            await FallingEdge(self.dut.line_tx)
            self.line_tx_falls += 1

    @property
    def line_bytes(self):
        return bytes(self.phy.line_tx_bytes)

    def line_frames(self):
        decoder = FrameDecoder(MAX_FRAME)
        frames = decoder.feed(self.line_bytes)
        return frames, decoder.stats

    def phy_counters(self):
        return {name: int(getattr(self.dut, f"phy_{name}").value) for name in RX_COUNTERS}

    async def counter(self, n, name):
        value = await self.csr[n].access(gword(name))
        await self.csr[n].idle()
        return value

    async def counters(self, n):
        names = ("RELEASED", "DROPPED", "OVERSIZE", "VIOLATIONS", "OVERFLOW", "RX_DELIVERED",
                 "RX_DROPPED", "RX_UNKNOWN")
        out = {}
        for name in names:
            out[name] = await self.csr[n].access(gword(name))
        await self.csr[n].idle()
        return out

    async def wait_for(self, cond, what, cycles, step=16):
        """Poll ``cond()`` (a plain function) every ``step`` clocks for at most ``cycles``."""
        for _ in range(0, cycles, step):
            if cond():
                return
            await ClockCycles(self.dut.clk, step, rising=False)
        assert cond(), f"timed out after {cycles} cycles waiting for {what}"

    async def commit(self, n, payload):
        """Model ``n`` writes ``payload`` and commits it (every access must be acknowledged);
        returns the simulation time of the commit's clock cycle."""
        port = self.mbox[n]
        async with port.lock:
            for byte in payload:
                await port.ok(MB["TX_DATA"], byte)
            await port.ok(MB["TX_COMMIT"], 1)
            when = get_sim_time("ps")
            await port.idle()
        return when

    async def read_frame(self, n):
        """Model ``n``: the next ingress frame from its mailbox, or None."""
        port = self.mbox[n]
        async with port.lock:
            status = await port.ok(MB["RX_STATUS"])
            if not status & 1:
                await port.idle()
                return None
            length = status >> 16
            assert 1 <= length <= MAX_FRAME, f"model {n}: RX_STATUS length {length}"
            data = bytearray()
            for _ in range(length):
                data.append(await port.ok(MB["RX_DATA"]))
            await port.ok(MB["RX_POP"], 1)
            await port.idle()
        return bytes(data)

    def start_readers(self, got, period=8):
        """Model readers: every ``period`` clocks each model drains its ingress mailbox into
        ``got[n]``."""
        async def reader(n):
            while True:
                frame = await self.read_frame(n)
                if frame is None:
                    await ClockCycles(self.dut.clk, period, rising=False)
                else:
                    got[n].append(frame)
        return [cocotb.start_soon(reader(n)) for n in range(N)]


def unique_payloads(rng, count, seen, *, min_len=1, max_len=MAX_FRAME, low=0):
    """``count`` random payloads (bytes ``low``..255), none equal to another or to one in
    ``seen``; with ``count >= 3`` the lengths include ``min_len`` and ``max_len``."""
    out = []
    while len(out) < count:
        if count >= 3 and len(out) < 2:
            length = (max_len, min_len)[len(out)]
        else:
            length = rng.randint(min_len, max_len)
        payload = bytes(rng.randrange(low, 256) for _ in range(length))
        if payload not in seen:
            seen.add(payload)
            out.append(payload)
    return out


# --- egress ----------------------------------------------------------------------------------

@cocotb.test(timeout_time=60, timeout_unit="ms")
async def egress_only_released_frames_leave(dut):
    """Both models commit random frames (and try an oversized and an empty one, answered err);
    the hypervisor inspects each head frame (it must be what the model committed), then releases
    or drops it, serving the models in random order and at random times. The line carries
    exactly the released frames, in order per model, each with its model's tag, and nothing
    else; the counters agree."""
    bench = Bench(dut, SEED)
    rng = bench.rng
    await bench.start()
    per_model = 10
    seen = set()
    plans = [unique_payloads(rng, per_model, seen) for _ in range(N)]
    committed = [[] for _ in range(N)]      # (commit time, payload), oldest first
    removed = [0] * N                       # of those: released and sent, or dropped
    released = [[] for _ in range(N)]
    dropped = [[] for _ in range(N)]
    done_models = [False] * N

    async def model(n):
        port = bench.mbox[n]
        bad_at = rng.sample(range(per_model), 2)
        for i, payload in enumerate(plans[n]):
            # The testbench knows the quarantine fill (the model itself cannot see it).
            await bench.wait_for(lambda: len(committed[n]) - removed[n] < BUFFER,
                                 f"room in model {n}'s quarantine", 40 * FRAME_CYCLES)
            if i == bad_at[0]:          # an oversized frame: the byte after max_frame is err
                for byte in range(MAX_FRAME):
                    await port.ok(MB["TX_DATA"], byte)
                ack, err, _ = await port.access(MB["TX_DATA"], 0xEE)
                assert err and not ack, f"model {n}: byte {MAX_FRAME + 1} was not a violation"
                assert await port.ok(MB["TX_LEN"]) == 0, "oversized frame not discarded"
                await port.idle()
            if i == bad_at[1]:          # an empty commit is a violation
                ack, err, _ = await port.access(MB["TX_COMMIT"], 1)
                assert err and not ack, f"model {n}: empty commit was not a violation"
                await port.idle()
            committed[n].append((await bench.commit(n, payload), payload))
            await ClockCycles(dut.clk, rng.randrange(1, 3 * FRAME_CYCLES // 2), rising=False)
        done_models[n] = True

    async def inspect_head(n):
        port = bench.csr[n]
        length = await port.access(gword("HEAD_LEN"))
        data = bytearray()
        for i in range(length):
            await port.access(gword("HEAD_PTR"), i)
            data.append(await port.access(gword("HEAD_DATA")))
        await port.idle()
        return bytes(data)

    async def hypervisor():
        in_flight = [None] * N      # RELEASED count when the model's head frame was released
        while True:
            for n in rng.sample(range(N), N):
                port = bench.csr[n]
                sent = await port.access(gword("RELEASED"))
                if in_flight[n] is not None:
                    assert sent in (in_flight[n], in_flight[n] + 1), \
                        f"model {n}: RELEASED went from {in_flight[n]} to {sent}"
                    if sent == in_flight[n]:                # still pending or sending
                        await port.idle()
                        continue
                    in_flight[n] = None                     # the released frame has left
                    removed[n] += 1
                # Nothing of this model's is in flight: only its commits change STATUS now.
                status = await port.access(gword("STATUS"))
                when = get_sim_time("ps")
                await port.idle()
                assert not status & (ST_PENDING | ST_SENDING), \
                    f"model {n}: STATUS {status:#x} with no release outstanding"
                visible = sum(1 for t, _ in committed[n] if t < when) - removed[n]
                assert status & 0xF == visible, \
                    f"model {n}: STATUS.waiting {status & 0xF}, expected {visible}"
                if not visible or rng.random() < 0.3:      # sometimes let frames wait
                    continue
                head = committed[n][removed[n]][1]
                seen_head = await inspect_head(n)
                assert seen_head == head, \
                    f"model {n}: head frame {seen_head.hex()} is not the oldest committed " \
                    f"{head.hex()}"
                if rng.random() < 0.6:
                    await port.access(gword("CMD"), CMD_RELEASE)
                    await port.idle()
                    released[n].append(head)
                    in_flight[n] = sent
                else:
                    await port.access(gword("CMD"), CMD_DROP)
                    await port.idle()
                    dropped[n].append(head)
                    removed[n] += 1
            if (all(done_models) and all(f is None for f in in_flight)
                    and all(removed[n] == len(committed[n]) for n in range(N))):
                return
            await ClockCycles(dut.clk, rng.randrange(1, FRAME_CYCLES // 4), rising=False)

    tasks = [cocotb.start_soon(model(n)) for n in range(N)]
    hv = cocotb.start_soon(hypervisor())
    budget = (per_model * N * 3 + 10) * FRAME_CYCLES
    await bench.wait_for(lambda: hv.done(), "the hypervisor to decide every frame", budget, 64)
    hv.result()
    for task in tasks:
        task.result()
    # The line has time to carry anything still in the PHY, and anything it should not.
    n_released = sum(map(len, released))
    await bench.wait_for(lambda: len(bench.line_frames()[0]) >= n_released,
                         f"{n_released} released frames on line_tx", 4 * FRAME_CYCLES)
    await ClockCycles(dut.clk, 3 * FRAME_CYCLES, rising=False)
    frames, stats = bench.line_frames()
    for tag, payload in frames:
        assert tag < N, f"frame with tag {tag} on the line"
        for n in range(N):
            assert payload not in dropped[n], f"a dropped frame of model {n} left: {payload.hex()}"
        assert payload in released[tag], \
            f"frame {payload.hex()} left tagged {tag} but model {tag} has no such released frame"
    for n in range(N):
        mine = [p for t, p in frames if t == n]
        assert mine == released[n], f"model {n}: line frames differ from the released ones"
        got = await bench.counters(n)
        assert got["RELEASED"] == len(released[n]) and got["DROPPED"] == len(dropped[n]), got
        assert got["OVERSIZE"] == 1 and got["VIOLATIONS"] == 2 and got["OVERFLOW"] == 0, got
    assert stats.as_dict() == dict(rx_frames=n_released, rx_bad_crc=0, rx_oversize=0,
                                   rx_framing=0, rx_overflow=0), \
        f"line_tx: {stats}, expected {n_released} good frames and nothing else"
    dut._log.info("egress: released %s, dropped %s frames per model; %d line bytes",
                  [len(r) for r in released], [len(d) for d in dropped], len(bench.line_bytes))
    assert all(released) and all(dropped)


# --- ingress ---------------------------------------------------------------------------------

def bad_crc_frame(tag, payload):
    """A frame with valid COBS framing and a wrong CRC."""
    body = bytes([tag]) + payload
    crc = crc16(body) ^ 0x0101
    return cobs.encode(body + crc.to_bytes(2, "big")) + DELIMITER


def ingress_traffic(rng, count, seen):
    """Good frames for models 0 and 1, unknown tags, tag-only frames and damage, mixed."""
    out, good = bytearray(), []
    damage = ["unknown", "empty", "flip", "badcrc", "trunc", "big", "garbage", "zeros"]
    kinds = damage * 2 + ["good"] * (count - 1 - 2 * len(damage))
    rng.shuffle(kinds)
    for kind in ["good"] + kinds:
        payload = unique_payloads(rng, 1, seen, max_len=MAX_FRAME)[0]
        tag = rng.randrange(N)
        if kind == "good":
            frame = encode_frame(tag, payload)
            good.append((tag, payload))
        elif kind == "unknown":
            frame = encode_frame(rng.randrange(N, 256), payload)
        elif kind == "empty":
            frame = encode_frame(tag, b"")
        elif kind == "flip":
            frame = bytearray(encode_frame(tag, payload))
            j = rng.randrange(len(frame) - 1)
            frame[j] = frame[j] ^ (1 << rng.randrange(8)) or 0x55
        elif kind == "badcrc":
            frame = bad_crc_frame(tag, payload)
        elif kind == "trunc":
            frame = encode_frame(tag, payload)
            frame = frame[:rng.randrange(1, len(frame) - 1)] + DELIMITER
        elif kind == "big":
            frame = encode_frame(tag, bytes(rng.randrange(1, 256) for _ in
                                            range(MAX_FRAME + rng.randrange(1, 4))))
        elif kind == "garbage":
            frame = bytes(rng.randrange(1, 256) for _ in range(rng.randrange(1, 8))) + DELIMITER
        else:
            frame = bytes(rng.randrange(1, 3))
        out += frame
    return bytes(out) + DELIMITER, good


@cocotb.test(timeout_time=60, timeout_unit="ms")
async def ingress_routing_damage_and_recovery(dut):
    """Good frames for both models, unknown tags, tag-only frames, corrupted bytes, bad CRCs,
    truncated and oversized frames, garbage and delimiter runs, back to back or with short gaps;
    then a burst 7 % too fast and one 7 % too slow; then good frames at the right rate. Each
    model gets exactly the good frames tagged with its index, in order, and never another's;
    the PHY and gate counters match the host reference decoder; after each mismatch burst the
    next valid frames arrive."""
    bench = Bench(dut, SEED + 1)
    rng = bench.rng
    await bench.start()
    got = [[] for _ in range(N)]
    bench.start_readers(got)
    seen = set()

    # 1. damaged traffic, checked against the host reference decoder
    data, good = ingress_traffic(rng, 28, seen)
    reference = FrameDecoder(MAX_FRAME)
    frames = reference.feed(data)
    assert all(frame in frames for frame in good), "traffic generator: a good frame was lost"
    for i in range(0, len(data), 24):
        await bench.phy.drive(data[i:i + 24], gap_bits=rng.choice([0, 0, 1, 3]))
    expected = [[p for t, p in frames if t == n and p] for n in range(N)]
    await bench.wait_for(lambda: sum(map(len, got)) >= sum(map(len, expected)),
                         "as many frames in the models' mailboxes as good ones were sent",
                         4 * FRAME_CYCLES)
    await ClockCycles(dut.clk, 2 * FRAME_CYCLES, rising=False)
    for n in range(N):
        assert got[n] == expected[n], f"model {n} got {[p.hex() for p in got[n]]}, expected " \
                                      f"{[p.hex() for p in expected[n]]}"
    assert bench.phy_counters() == reference.stats.as_dict(), \
        f"PHY counters {bench.phy_counters()} != reference {reference.stats}"
    unknown = sum(1 for t, _ in frames if t >= N)
    for n in range(N):
        c = await bench.counters(n)
        empties = sum(1 for t, p in frames if t == n and not p)
        assert c["RX_DELIVERED"] == len(expected[n]) and c["RX_DROPPED"] == empties and \
            c["RX_UNKNOWN"] == unknown, f"model {n} counters {c}"
    dut._log.info("damaged traffic: %d bytes, %s; delivered %s, unknown %d", len(data),
                  reference.stats, [len(e) for e in expected], unknown)
    assert unknown and reference.stats.rx_bad_crc and reference.stats.rx_framing and \
        reference.stats.rx_oversize, "traffic lacked a kind of damage"

    # 2. baud mismatch bursts, each followed by good frames at the right rate
    for ratio in (1.07, 1 / 1.07):
        mark = [len(g) for g in got]
        phy_before = bench.phy_counters()
        burst = [(rng.randrange(N), p) for p in
                 unique_payloads(rng, 4, seen, min_len=MAX_FRAME // 2)]
        await bench.phy.drive(b"".join(encode_frame(t, p) for t, p in burst),
                              bit_ps=round(BIT_PS / ratio))
        await ClockCycles(dut.clk, FRAME_CYCLES, rising=False)
        # Recovery: one delimiter (it also ends whatever the mismatch left half-received), then
        # every good frame arrives.
        after = [(rng.randrange(N), p) for p in unique_payloads(rng, 3, seen)]
        await bench.phy.drive(DELIMITER + b"".join(encode_frame(t, p) for t, p in after))
        want = [[p for t, p in after if t == n] for n in range(N)]
        await bench.wait_for(lambda: all(got[n][mark[n]:][-len(want[n]):] == want[n]
                                         for n in range(N) if want[n]),
                             f"recovery after the {ratio:.3f} x baud burst", 4 * FRAME_CYCLES)
        await ClockCycles(dut.clk, FRAME_CYCLES, rising=False)
        phy_after = bench.phy_counters()
        lost = sum(phy_after[k] - phy_before[k] for k in ("rx_bad_crc", "rx_framing",
                                                            "rx_oversize"))
        from_burst = 0
        for n in range(N):
            new = got[n][mark[n]:]
            assert new[len(new) - len(want[n]):] == want[n], \
                f"model {n}: frames after the {ratio:.3f} x baud burst: {new}"
            head = new[:len(new) - len(want[n])]
            sent_n = [p for t, p in burst if t == n]
            assert all(p in sent_n for p in head), \
                f"{ratio:.3f} x baud: model {n} got a frame not sent to it (or corrupted)"
            assert head == [p for p in sent_n if p in head], f"model {n}: order"
            from_burst += len(head)
        assert from_burst + len(after) == phy_after["rx_frames"] - phy_before["rx_frames"]
        assert from_burst < len(burst) and lost >= 1, \
            f"{ratio:.3f} x baud: the mismatch went unnoticed"
        dut._log.info("%.3f x baud: %d of %d frames delivered, %d counted bad; recovered",
                      ratio, from_burst, len(burst), lost)
    for n in range(N):
        c = await bench.counters(n)
        assert c["RX_DELIVERED"] == len(got[n]), c
    assert bench.line_tx_falls == 0, "ingress made the gate transmit"


# --- kill latch coupling ---------------------------------------------------------------------

async def status_of(bench, n):
    return await bench.counter(n, "STATUS")


async def wait_sending(bench, n, cycles=200):
    """Poll model ``n``'s STATUS every clock until its head frame is on its way to the PHY."""
    port = bench.csr[n]
    for _ in range(cycles):
        if await port.access(gword("STATUS")) & ST_SENDING:
            await port.idle()
            return
    raise AssertionError(f"model {n}'s released frame did not start within {cycles} cycles")


async def cmd(bench, n, value):
    await bench.csr[n].access(gword("CMD"), value)
    await bench.csr[n].idle()


@cocotb.test(timeout_time=60, timeout_unit="ms")
async def egress_block_holds_released_frames(dut):
    """PROBATION (``egress_block``): RELEASE is ignored and no byte leaves while ingress still
    reaches the models and DROP still works; a frame stalled on its way to the PHY completes
    whole after the block falls; a release not yet started is withdrawn by the block and needs a
    new RELEASE."""
    bench = Bench(dut, SEED + 2)
    rng = bench.rng
    await bench.start()
    got = [[] for _ in range(N)]
    bench.start_readers(got)
    seen = set()
    # Model 1's frames are one COBS block (tag 1, no zero byte): the PHY sends nothing of them
    # before their last byte, so a stalled frame shows nothing on the line.
    a0, a1 = unique_payloads(rng, 2, seen, min_len=MAX_FRAME)
    b0, b1 = unique_payloads(rng, 2, seen, min_len=MAX_FRAME, low=1)
    await bench.commit(0, a0)
    await bench.commit(1, b0)
    dut.egress_block.value = 1
    for n in range(N):
        await cmd(bench, n, CMD_RELEASE)
    for n in range(N):
        status = await status_of(bench, n)
        assert status & ST_EGRESS_BLOCK and not status & ST_NET_CUT
        assert status & 0xF == 1 and not status & (ST_PENDING | ST_SENDING), \
            f"model {n}: RELEASE under egress_block was not ignored (STATUS {status:#x})"
    inbound = list(enumerate(unique_payloads(rng, N, seen)))
    await bench.phy.drive(b"".join(encode_frame(t, p) for t, p in inbound))
    await bench.wait_for(lambda: all(got), "ingress under egress_block", 4 * FRAME_CYCLES)
    assert got == [[p] for _, p in inbound], "ingress under egress_block misrouted"
    await cmd(bench, 0, CMD_DROP)                   # the hypervisor may still drop
    assert await bench.counter(0, "DROPPED") == 1
    assert bench.line_tx_falls == 0, "a byte left under egress_block"
    dut.egress_block.value = 0
    await ClockCycles(dut.clk, 2 * FRAME_CYCLES, rising=False)
    assert bench.line_tx_falls == 0, "a RELEASE ignored under egress_block was sent later"

    # A frame stalled between the gate and the PHY.
    await cmd(bench, 1, CMD_RELEASE)
    await wait_sending(bench, 1)
    await ClockCycles(dut.clk, 3, rising=False)       # a few bytes into the transfer
    dut.egress_block.value = 1
    await ClockCycles(dut.clk, 4 * FRAME_CYCLES, rising=False)
    status = await status_of(bench, 1)
    assert status & ST_SENDING and await bench.counter(1, "RELEASED") == 0, \
        f"the frame did not stay stalled under egress_block (STATUS {status:#x})"
    assert not bench.line_bytes.strip(b"\0"), "part of a stalled frame left under egress_block"
    dut.egress_block.value = 0
    await bench.wait_for(lambda: bench.line_frames()[0], "the stalled frame after the block",
                         4 * FRAME_CYCLES)

    # A release waiting for the transmitter (busy with model 1's next frame) is withdrawn.
    await bench.commit(0, a1)
    await bench.commit(1, b1)
    await cmd(bench, 1, CMD_RELEASE)
    await wait_sending(bench, 1)
    await cmd(bench, 0, CMD_RELEASE)
    status = await status_of(bench, 0)
    assert status & ST_PENDING, f"model 0's release is not pending (STATUS {status:#x})"
    dut.egress_block.value = 1
    await ClockCycles(dut.clk, 2, rising=False)
    status = await status_of(bench, 0)
    assert not status & (ST_PENDING | ST_SENDING) and status & 0xF == 1, \
        f"egress_block did not withdraw model 0's release (STATUS {status:#x})"
    dut.egress_block.value = 0
    await bench.wait_for(lambda: len(bench.line_frames()[0]) >= 2, "model 1's second frame",
                         4 * FRAME_CYCLES)
    await ClockCycles(dut.clk, 2 * FRAME_CYCLES, rising=False)
    assert bench.line_frames()[0] == [(1, b0), (1, b1)], "a withdrawn release was sent"
    await cmd(bench, 0, CMD_RELEASE)
    await bench.wait_for(lambda: len(bench.line_frames()[0]) >= 3, "model 0's frame",
                         4 * FRAME_CYCLES)
    await ClockCycles(dut.clk, FRAME_CYCLES, rising=False)
    frames, stats = bench.line_frames()
    assert frames == [(1, b0), (1, b1), (0, a1)] and stats.rx_frames == 3 and \
        sum(stats.as_dict().values()) == 3, f"line carried {frames} ({stats})"
    assert [await bench.counter(n, "RELEASED") for n in range(N)] == [1, 2]


@cocotb.test(timeout_time=60, timeout_unit="ms")
async def net_cut_idles_line_and_drops_ingress(dut):
    """SEVERANCE (``net_cut``): the transmit line stays idle (also when cut in the middle of a
    frame on the wire, whose remains the far end drops), RELEASE is ignored, ingress for every
    tag is received by the PHY but dropped and counted by the gate; after the cut, the next
    released frame and the next ingress frames arrive."""
    bench = Bench(dut, SEED + 3)
    rng = bench.rng
    await bench.start()
    got = [[] for _ in range(N)]
    bench.start_readers(got)
    seen = set()
    # a0's only zero byte is near its end: the PHY sends the COBS block before it while the gate
    # still holds the frame's last bytes, so a cut on the wire also stalls the gate mid-frame.
    a0, b0 = unique_payloads(rng, 2, seen, min_len=MAX_FRAME, low=1)
    a0 = a0[:-2] + b"\0" + a0[-1:]
    await bench.commit(0, a0)
    await bench.commit(1, b0)
    dut.net_cut.value = 1
    for n in range(N):
        await cmd(bench, n, CMD_RELEASE)
    for n in range(N):
        status = await status_of(bench, n)
        assert status & ST_NET_CUT and status & 0xF == 1 and \
            not status & (ST_PENDING | ST_SENDING), \
            f"model {n}: RELEASE under net_cut was not ignored (STATUS {status:#x})"
    inbound = [(0, p) for p in unique_payloads(rng, 2, seen)] + \
        [(1, p) for p in unique_payloads(rng, 2, seen)] + [(N + 3, b"x"), (0, b"")]
    await bench.phy.drive(b"".join(encode_frame(t, p) for t, p in inbound))
    await ClockCycles(dut.clk, 2 * FRAME_CYCLES, rising=False)
    assert bench.phy_counters()["rx_frames"] == len(inbound), "the PHY lost ingress frames"
    assert got == [[] for _ in range(N)], f"ingress delivered under net_cut: {got}"
    for n in range(N):
        c = await bench.counters(n)
        assert c["RX_DELIVERED"] == 0 and c["RX_UNKNOWN"] == 1 and \
            c["RX_DROPPED"] == sum(1 for t, _ in inbound if t == n), f"model {n}: {c}"
    assert bench.line_tx_falls == 0, "line_tx left idle under net_cut"

    # Cut in the middle of a frame on the wire: the line goes idle at once.
    dut.net_cut.value = 0
    await cmd(bench, 0, CMD_RELEASE)
    await bench.wait_for(lambda: len(bench.line_bytes) >= 4, "model 0's frame on the line",
                         FRAME_CYCLES, step=8)
    status = await status_of(bench, 0)
    assert status & ST_SENDING, f"model 0's frame is not in the gate's hands (STATUS {status:#x})"
    dut.net_cut.value = 1
    await ClockCycles(dut.clk, DIVISOR, rising=False)    # the byte being sent is cut
    falls = bench.line_tx_falls
    await ClockCycles(dut.clk, 3 * FRAME_CYCLES, rising=False)
    assert bench.line_tx_falls == falls, "line_tx left idle under net_cut"
    status = await status_of(bench, 0)
    assert status & ST_SENDING and await bench.counter(0, "RELEASED") == 0, \
        f"net_cut did not stall the gate's frame (STATUS {status:#x})"
    assert not bench.line_frames()[0], "a frame cut by net_cut reached the far end whole"
    # Back: the next release goes out whole, the cut frame's remains are dropped by the far end.
    dut.net_cut.value = 0
    await cmd(bench, 1, CMD_RELEASE)
    await bench.wait_for(lambda: bench.line_frames()[0], "model 1's frame after the cut",
                         4 * FRAME_CYCLES)
    await ClockCycles(dut.clk, FRAME_CYCLES, rising=False)
    frames, stats = bench.line_frames()
    assert frames == [(1, b0)] and stats.rx_frames == 1 and \
        stats.rx_framing + stats.rx_bad_crc == 1, f"line carried {frames} ({stats})"
    assert int(dut.phy_tx_dropped.value) == 1, "the PHY did not discard the cut frame"
    # Ingress is delivered again.
    inbound = [(n, p) for n, p in enumerate(unique_payloads(rng, N, seen))]
    await bench.phy.drive(b"".join(encode_frame(t, p) for t, p in inbound))
    await bench.wait_for(lambda: all(got), "ingress after the cut", 4 * FRAME_CYCLES)
    assert got == [[p] for _, p in inbound]
