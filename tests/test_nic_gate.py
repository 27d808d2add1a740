"""NIC gate (hdl/nic_gate.py) in the Amaranth simulator: every mailbox and CSR command, every
counter, latch coupling, the rate limiter, ingress routing and the covert-channel rules."""

import pytest
from amaranth.sim import Simulator

from guillotine import GuillotineError
from guillotine.hdl.nic_gate import (COUNTERMEASURES, GATE_REGISTERS, MAILBOX_REGISTERS,
                                      NicGate)

G = GATE_REGISTERS
MB = MAILBOX_REGISTERS


class Harness:
    """Drives a gate: mailbox accesses, CSR reads/writes, PHY frames; records phy_tx beats."""

    def __init__(self, ctx, gate):
        self.ctx, self.g = ctx, gate
        self.sent = []          # completed frames on phy_tx (lists of bytes)
        self.partial = []

    async def tick(self, n=1):
        for _ in range(n):
            g, ctx = self.g, self.ctx
            if ctx.get(g.phy_tx.valid) and ctx.get(g.phy_tx.ready):
                self.partial.append(ctx.get(g.phy_tx.payload.data))
                if ctx.get(g.phy_tx.payload.last):
                    self.sent.append(self.partial)
                    self.partial = []
            await ctx.tick()

    async def mbox(self, n, reg, value=None):
        """One model access: returns ("ack", data) or ("err", None)."""
        ctx, port = self.ctx, getattr(self.g, f"mailbox_{n}")
        ctx.set(port.adr, MB.word(reg))
        ctx.set(port.we, value is not None)
        ctx.set(port.dat_w, value or 0)
        ctx.set(port.sel, 0b1111)
        ctx.set(port.cyc, 1)
        ctx.set(port.stb, 1)
        ack, err, data = ctx.get(port.ack), ctx.get(port.err), ctx.get(port.dat_r)
        assert ack + err == 1, "the mailbox answers in the same cycle, exactly once"
        await self.tick()
        ctx.set(port.cyc, 0)
        ctx.set(port.stb, 0)
        return ("ack", data) if ack else ("err", None)

    async def send(self, n, payload, commit=True):
        for b in payload:
            assert await self.mbox(n, "TX_DATA", b) == ("ack", 0)
        if commit:
            return await self.mbox(n, "TX_COMMIT", 1)

    async def receive(self, n):
        """Read and pop model n's ingress frame (None if there is none)."""
        kind, status = await self.mbox(n, "RX_STATUS")
        assert kind == "ack"
        if not status & 1:
            return None
        frame = [(await self.mbox(n, "RX_DATA"))[1] for _ in range(status >> 16)]
        assert await self.mbox(n, "RX_POP", 1) == ("ack", 0)
        return frame

    def read(self, n, reg, field=None):
        csr = getattr(self.g, f"csr_{n}")
        self.ctx.set(csr.addr, G.word(reg))
        value = self.ctx.get(csr.r_data)
        if field is not None:
            f = G[reg].field(field)
            value = (value >> f.offset) & ((1 << f.width) - 1)
        return value

    async def write(self, n, reg, value):
        csr = getattr(self.g, f"csr_{n}")
        self.ctx.set(csr.addr, G.word(reg))
        self.ctx.set(csr.w_data, value)
        self.ctx.set(csr.w_stb, 1)
        await self.tick()
        self.ctx.set(csr.w_stb, 0)

    async def release(self, n):
        await self.write(n, "CMD", 1)

    async def drop(self, n):
        await self.write(n, "CMD", 2)

    async def inspect(self, n):
        length = self.read(n, "HEAD_LEN")
        out = []
        for i in range(length):
            await self.write(n, "HEAD_PTR", i)
            out.append(self.read(n, "HEAD_DATA"))
        return out

    async def rx_frame(self, tag, payload, gap=0, bad=False):
        """Feed one frame ``[tag] + payload`` into phy_rx (ready is always high)."""
        ctx, rx = self.ctx, self.g.phy_rx
        beats = [tag] + list(payload)
        for i, b in enumerate(beats):
            assert ctx.get(rx.ready) == 1
            ctx.set(rx.valid, 1)
            ctx.set(rx.payload.data, b)
            ctx.set(rx.payload.last, i == len(beats) - 1)
            ctx.set(rx.payload.bad, bad and i == len(beats) - 1)
            await self.tick()
            ctx.set(rx.valid, 0)
            ctx.set(rx.payload.bad, 0)
            await self.tick(gap)

    async def drain(self, cycles=200):
        self.ctx.set(self.g.phy_tx.ready, 1)
        await self.tick(cycles)


def run(gate, bench):
    sim = Simulator(gate)
    sim.add_clock(1e-6)
    out = {}

    async def tb(ctx):
        h = Harness(ctx, gate)
        ctx.set(gate.phy_tx.ready, 1)
        await bench(h, out)
    sim.add_testbench(tb)
    sim.run()
    return out


def small(**kw):
    params = dict(n_models=2, max_frame=16, buffer_frames=2, rate=1_000_000, clk_hz=1_000_000,
                  burst=16, credit_period=1 << 12)
    params.update(kw)
    return NicGate(**params)


def test_release_and_drop():
    gate = small()

    async def bench(h, out):
        assert await h.send(0, [0x11, 0x22, 0x33]) == ("ack", 0)
        assert await h.send(0, [0x44]) == ("ack", 0)
        out["status"] = h.read(0, "STATUS", "waiting")
        out["head"] = await h.inspect(0)
        await h.drain(20)
        out["sent_before"] = list(h.sent)       # nothing leaves without a release
        await h.release(0)
        out["pending"] = h.read(0, "STATUS", "pending") or h.read(0, "STATUS", "sending")
        await h.drain(20)
        out["after_release"] = list(h.sent)
        out["head2"] = await h.inspect(0)
        await h.drop(0)
        await h.drain(20)
        out["final"] = list(h.sent)
        out["waiting"] = h.read(0, "STATUS", "waiting")
        out["released"] = h.read(0, "RELEASED")
        out["dropped"] = h.read(0, "DROPPED")
        out["len_empty"] = h.read(0, "HEAD_LEN")
        # commands with nothing waiting change nothing
        await h.release(0)
        await h.drop(0)
        out["released2"], out["dropped2"] = h.read(0, "RELEASED"), h.read(0, "DROPPED")

    out = run(gate, bench)
    assert out["status"] == 2
    assert out["head"] == [0x11, 0x22, 0x33]
    assert out["sent_before"] == []
    assert out["pending"]
    assert out["after_release"] == [[0, 0x11, 0x22, 0x33]]      # tag 0 added by hardware
    assert out["head2"] == [0x44]
    assert out["final"] == [[0, 0x11, 0x22, 0x33]]               # the dropped frame never left
    assert out["waiting"] == 0 and out["len_empty"] == 0
    assert (out["released"], out["dropped"]) == (1, 1)
    assert (out["released2"], out["dropped2"]) == (1, 1)


def test_counters_saturate():
    gate = small(counter_width=2, credits=8, buffer_frames=2)

    async def bench(h, out):
        for i in range(5):
            await h.send(0, [i])
            await h.drop(0)
        out["dropped"] = h.read(0, "DROPPED")
        for i in range(5):
            await h.rx_frame(9, [1])
        out["unknown"] = h.read(1, "RX_UNKNOWN")

    out = run(gate, bench)
    assert out["dropped"] == 3 and out["unknown"] == 3


def test_two_models_tags():
    gate = small()

    async def bench(h, out):
        await h.send(1, [0xA1, 0xA2])
        await h.send(0, [0xB1])
        await h.release(1)
        await h.release(0)
        await h.drain(30)
        out["sent"] = h.sent
        out["rel"] = [h.read(n, "RELEASED") for n in range(2)]

    out = run(gate, bench)
    assert sorted(out["sent"]) == [[0, 0xB1], [1, 0xA1, 0xA2]]
    assert out["rel"] == [1, 1]


def test_source_tag_cannot_be_spoofed():
    """A model that writes another model's index as its first byte still goes out under its
    own tag: the tag is hardware's, the payload is the model's."""
    gate = small()

    async def bench(h, out):
        await h.send(1, [0, 0xEE])
        await h.release(1)
        await h.drain(20)
        out["sent"] = h.sent

    assert run(gate, bench)["sent"] == [[1, 0, 0xEE]]


def test_violations():
    gate = small(max_frame=4, burst=4, credits=2)

    async def bench(h, out):
        out["empty"] = await h.mbox(0, "TX_COMMIT", 1)                     # empty commit
        await h.send(0, [1, 2, 3, 4], commit=False)
        out["len4"] = await h.mbox(0, "TX_LEN")
        out["over"] = await h.mbox(0, "TX_DATA", 5)                        # 5th byte
        out["len_after"] = await h.mbox(0, "TX_LEN")                       # frame dropped
        out["bad_read"] = await h.mbox(0, "TX_DATA")                       # read of W
        out["bad_write"] = await h.mbox(0, "CREDITS", 3)                   # write of R
        ctx, port = h.ctx, h.g.mailbox_0
        ctx.set(port.adr, 40)
        ctx.set(port.cyc, 1)
        ctx.set(port.stb, 1)
        ctx.set(port.we, 0)
        out["bad_word"] = ctx.get(port.err)
        await h.tick()
        ctx.set(port.cyc, 0)
        ctx.set(port.stb, 0)
        # credits: 2 per epoch, the third commit is a violation and drops its frame
        out["c1"] = await h.send(0, [1])
        out["c2"] = await h.send(0, [2])
        out["credits"] = await h.mbox(0, "CREDITS")
        out["c3"] = await h.send(0, [3])
        out["len_c3"] = await h.mbox(0, "TX_LEN")
        out["oversize"] = h.read(0, "OVERSIZE")
        out["violations"] = h.read(0, "VIOLATIONS")
        out["waiting"] = h.read(0, "STATUS", "waiting")
        out["other"] = h.read(1, "VIOLATIONS")

    out = run(gate, bench)
    assert out["empty"] == ("err", None)
    assert out["len4"] == ("ack", 4)
    assert out["over"] == ("err", None)
    assert out["len_after"] == ("ack", 0)
    assert out["bad_read"] == ("err", None) and out["bad_write"] == ("err", None)
    assert out["bad_word"] == 1
    assert out["c1"] == out["c2"] == ("ack", 0)
    assert out["credits"] == ("ack", 0)
    assert out["c3"] == ("err", None) and out["len_c3"] == ("ack", 0)
    assert out["oversize"] == 1
    assert out["violations"] == 6      # empty, oversize, bad read, bad write, bad word, no credit
    assert out["waiting"] == 2
    assert out["other"] == 0


def test_overflow_is_silent():
    """A commit while the quarantine is full is acknowledged (credit used) and counted."""
    gate = small(buffer_frames=1, burst=16, credits=3)

    async def bench(h, out):
        out["a"] = await h.send(0, [1])
        out["b"] = await h.send(0, [2])          # quarantine full: silently dropped
        out["overflow"] = h.read(0, "OVERFLOW")
        out["waiting"] = h.read(0, "STATUS", "waiting")
        out["credits"] = (await h.mbox(0, "CREDITS"))[1]
        out["head"] = await h.inspect(0)

    out = run(gate, bench)
    assert out["a"] == out["b"] == ("ack", 0)
    assert out["overflow"] == 1 and out["waiting"] == 1
    assert out["credits"] == 1
    assert out["head"] == [1]


def test_credit_epochs_count_run_cycles():
    gate = small(credits=1, credit_period=50)

    async def bench(h, out):
        await h.send(0, [1])
        out["c0"] = (await h.mbox(0, "CREDITS"))[1]
        h.ctx.set(gate.model_run_0, 0)            # frozen: the epoch does not advance
        await h.tick(200)
        out["frozen"] = (await h.mbox(0, "CREDITS"))[1]
        h.ctx.set(gate.model_run_0, 1)
        await h.tick(60)
        out["refilled"] = (await h.mbox(0, "CREDITS"))[1]
        await h.send(0, [2])
        h.ctx.set(gate.model_hold_0, 1)           # reset: full credits, staging cleared
        await h.tick()
        h.ctx.set(gate.model_hold_0, 0)
        out["after_hold"] = (await h.mbox(0, "CREDITS"))[1]

    out = run(gate, bench)
    assert out["c0"] == 0 and out["frozen"] == 0
    assert out["refilled"] == 1
    assert out["after_hold"] == 1


def test_probation():
    gate = small()

    async def bench(h, out):
        await h.send(0, [1, 2, 3])
        h.ctx.set(gate.egress_block, 1)
        await h.release(0)                         # ignored
        out["pending"] = h.read(0, "STATUS", "pending")
        out["blocked"] = h.read(0, "STATUS", "egress_block")
        await h.drain(30)
        out["sent"] = list(h.sent)
        await h.rx_frame(0, [9, 8])                # ingress continues
        out["rx"] = await h.receive(0)
        # a release made before PROBATION that has not started is withdrawn
        h.ctx.set(gate.egress_block, 0)
        h.ctx.set(gate.phy_tx.ready, 0)
        await h.release(0)
        h.ctx.set(gate.egress_block, 1)
        await h.tick()
        out["withdrawn"] = (h.read(0, "STATUS", "pending"), h.read(0, "STATUS", "sending"))
        h.ctx.set(gate.phy_tx.ready, 1)
        await h.drain(20)
        out["sent2"] = list(h.sent)
        await h.drop(0)                             # DROP still works
        out["dropped"] = h.read(0, "DROPPED")

    out = run(gate, bench)
    assert out["pending"] == 0 and out["blocked"] == 1
    assert out["sent"] == [] and out["sent2"] == []
    assert out["rx"] == [9, 8]
    assert out["withdrawn"] == (0, 0)
    assert out["dropped"] == 1


def test_stall_mid_frame():
    """A frame on the wire when egress is blocked stalls (valid low) and resumes intact."""
    gate = small()

    async def bench(h, out):
        await h.send(0, [1, 2, 3, 4, 5])
        await h.release(0)
        await h.tick(3)                            # tag and a couple of bytes out
        h.ctx.set(gate.egress_block, 1)
        await h.tick()
        out["valid"] = [h.ctx.get(gate.phy_tx.valid)]
        for _ in range(20):
            await h.tick()
            out["valid"].append(h.ctx.get(gate.phy_tx.valid))
        out["partial"] = list(h.partial)
        h.ctx.set(gate.egress_block, 0)
        await h.drain(20)
        out["sent"] = h.sent

    out = run(gate, bench)
    assert not any(out["valid"])
    assert 0 < len(out["partial"]) < 6
    assert out["sent"] == [[0, 1, 2, 3, 4, 5]]


def test_severance():
    gate = small()

    async def bench(h, out):
        await h.send(0, [1])
        h.ctx.set(gate.net_cut, 1)
        await h.release(0)
        await h.drain(20)
        out["sent"] = list(h.sent)
        await h.rx_frame(0, [7, 7])               # drained and dropped
        out["rx"] = await h.receive(0)
        out["rx_dropped"] = h.read(0, "RX_DROPPED")
        out["cut"] = h.read(0, "STATUS", "net_cut")

    out = run(gate, bench)
    assert out["sent"] == [] and out["rx"] is None
    assert out["rx_dropped"] == 1 and out["cut"] == 1


def test_ingress():
    gate = small(max_frame=4, burst=4, rx_frames=1)

    async def bench(h, out):
        await h.rx_frame(1, [1, 2, 3])
        await h.rx_frame(0, [4], gap=2)
        await h.rx_frame(5, [6, 6])                 # unknown tag
        await h.rx_frame(0, [])                     # empty
        await h.rx_frame(1, [1, 2, 3, 4, 5])        # oversize
        await h.rx_frame(1, [9])                    # buffer full (frame [1,2,3] waiting)
        out["r1"] = await h.receive(1)
        out["r0"] = await h.receive(0)
        out["none"] = await h.receive(0)
        await h.rx_frame(1, [1, 2, 3, 4])           # exactly max_frame
        out["r1b"] = await h.receive(1)
        out["deliv"] = [h.read(n, "RX_DELIVERED") for n in range(2)]
        out["drop"] = [h.read(n, "RX_DROPPED") for n in range(2)]
        out["unknown"] = [h.read(n, "RX_UNKNOWN") for n in range(2)]
        # reading past the end returns 0 and does not advance
        await h.rx_frame(0, [0x55])
        out["d1"] = await h.mbox(0, "RX_DATA")
        out["d2"] = await h.mbox(0, "RX_DATA")
        out["pop_write_only"] = await h.mbox(0, "RX_POP")

    out = run(gate, bench)
    assert out["r1"] == [1, 2, 3] and out["r0"] == [4] and out["none"] is None
    assert out["r1b"] == [1, 2, 3, 4]
    assert out["deliv"] == [1, 2]
    assert out["drop"] == [1, 2]
    assert out["unknown"] == [1, 1]
    assert out["d1"] == ("ack", 0x55) and out["d2"] == ("ack", 0)
    assert out["pop_write_only"] == ("err", None)


def test_ingress_bad_frame_dropped():
    """A frame the PHY marks ``bad`` on its last beat is discarded and counted."""
    gate = small()

    async def bench(h, out):
        await h.rx_frame(1, [1, 2], bad=True)
        await h.rx_frame(7, [1], bad=True)
        out["rx"] = await h.receive(1)
        await h.rx_frame(1, [3])
        out["next"] = await h.receive(1)
        out["counts"] = (h.read(1, "RX_DROPPED"), h.read(1, "RX_DELIVERED"),
                         h.read(1, "RX_UNKNOWN"))

    out = run(gate, bench)
    assert out["rx"] is None and out["next"] == [3]
    assert out["counts"] == (1, 1, 1)


@pytest.mark.parametrize("n_models", [1, 3, 4])
def test_model_counts(n_models):
    """Every model index gets its own tag out and its own frames in."""
    gate = small(n_models=n_models)

    async def bench(h, out):
        for n in range(n_models):
            await h.send(n, [0x10 + n])
            await h.rx_frame(n, [0x20 + n])
        for n in reversed(range(n_models)):
            await h.release(n)
        await h.drain(10 * n_models + 10)
        out["sent"] = sorted(h.sent)
        out["rx"] = [await h.receive(n) for n in range(n_models)]
        await h.rx_frame(n_models, [1])
        out["unknown"] = h.read(0, "RX_UNKNOWN")

    out = run(gate, bench)
    assert out["sent"] == [[n, 0x10 + n] for n in range(n_models)]
    assert out["rx"] == [[0x20 + n] for n in range(n_models)]
    assert out["unknown"] == 1


def test_ingress_hold_flushes():
    gate = small()

    async def bench(h, out):
        await h.rx_frame(0, [1, 2])
        h.ctx.set(gate.model_hold_0, 1)
        await h.tick()
        h.ctx.set(gate.model_hold_0, 0)
        out["after"] = await h.receive(0)
        await h.rx_frame(0, [3])
        out["next"] = await h.receive(0)

    out = run(gate, bench)
    assert out["after"] is None and out["next"] == [3]


def test_rate_limiter():
    # 1 token every 10 cycles, 8 deep: a second 8-byte frame waits for ~80 cycles of tokens
    gate = small(max_frame=8, burst=8, rate=100_000, clk_hz=1_000_000)

    async def bench(h, out):
        await h.send(0, list(range(8)))
        await h.send(0, list(range(8)))
        out["tokens0"] = h.read(0, "TOKENS")
        await h.release(0)
        await h.drain(15)
        out["first"] = len(h.sent)
        await h.release(0)
        out["pending"] = h.read(0, "STATUS", "pending")
        t = 0
        while len(h.sent) < 2:
            await h.tick()
            t += 1
        out["wait"] = t

    out = run(gate, bench)
    assert out["tokens0"] == 8
    assert out["first"] == 1 and out["pending"] == 1
    assert 50 <= out["wait"] <= 90


def test_rate_registers_lock():
    """GATE.RATE.LOCK: RATE and BURST reset to the elaboration values, accept clamped writes
    until cfg_lock (the kill latch's LOCK), and ignore every write after it."""
    gate = small(max_frame=8, burst=16, rate=100_000, clk_hz=1_000_000)     # min period 10

    async def bench(h, out):
        out["reset"] = [(h.read(n, "RATE"), h.read(n, "BURST")) for n in range(2)]
        seen = []
        for value in (0, 9, 25, 1 << 20, 11):
            await h.write(0, "RATE", value)
            seen.append(h.read(0, "RATE"))
        out["rate"] = seen
        seen = []
        for value in (0, 7, 1000, 16, 12):
            await h.write(0, "BURST", value)
            seen.append((h.read(0, "BURST"), h.read(0, "TOKENS")))
        out["burst"] = seen
        out["model1"] = (h.read(1, "RATE"), h.read(1, "BURST"))     # per model
        await h.write(1, "RATE", 20)
        h.ctx.set(gate.cfg_lock, 1)
        await h.tick()
        for value in (10, 500, 0):
            await h.write(0, "RATE", value)
            await h.write(0, "BURST", value)
            await h.write(1, "RATE", value)
        await h.write(0, "HEAD_PTR", 3)                      # other registers still work
        out["locked"] = [(h.read(n, "RATE"), h.read(n, "BURST")) for n in range(2)]
        out["ptr"] = h.read(0, "HEAD_PTR")
        await h.tick(200)
        out["tokens"] = h.read(0, "TOKENS")

    out = run(gate, bench)
    assert gate.registers["RATE"].reset == 10 and gate.registers["BURST"].reset == 16
    assert gate.min_period == 10 and gate.max_period == 0xFFFF
    assert out["reset"] == [(10, 16), (10, 16)]
    assert out["rate"] == [10, 10, 25, 0xFFFF, 11]           # clamped to 10..0xFFFF
    assert out["burst"] == [(8, 8), (8, 8), (16, 8), (16, 8), (12, 8)]   # 8..16; tokens follow
    assert out["model1"] == (10, 16)
    assert out["locked"] == [(11, 12), (20, 16)]
    assert out["ptr"] == 3
    assert out["tokens"] == 12                               # refills to the locked BURST


@pytest.mark.parametrize("lock", [False, True])
def test_soc_latch_lock_freezes_gate_config(lock):
    """In the SoC, ``cfg_lock`` is the kill latch's LOCK: hypervisor firmware sets RATE/BURST at
    init, sets LATCH.LOCK, and later writes to RATE/BURST have no effect."""
    from guillotine.firmware.asm import Program
    from guillotine.firmware.programs import network_model
    from guillotine.hdl.memory_map import GATE_LAYOUT
    from guillotine.hdl.soc import CSR_PLACEMENT, HV_CSR_BASE, GuillotineSoC
    from guillotine.sim.soc_sim import run_soc
    gate0 = HV_CSR_BASE + GATE_LAYOUT[0][1]
    latch_lock = HV_CSR_BASE + CSR_PLACEMENT["LATCH"] + 0x28         # LATCH.LOCK
    p = Program(base=0)
    for value, reg in ((100, "RATE"), (20, "BURST")):          # init: 100 cycles/token, 20 B
        p.li("t0", gate0 + G[reg].offset)
        p.li("t1", value)
        p.sw("t1", 0, "t0")
    if lock:
        p.li("t0", latch_lock)
        p.li("t1", 1)
        p.sw("t1", 0, "t0")
    for value, reg in ((7000, "RATE"), (16, "BURST")):          # later: refused when locked
        p.li("t0", gate0 + G[reg].offset)
        p.li("t1", value)
        p.sw("t1", 0, "t0")
    p.label("halt")
    p.j("halt")
    soc = GuillotineSoC(1, p.assemble(), model_images=[network_model(b"X")],
                        model_ram_bytes=4096, clk_hz=4_000_000, baud=2_000_000, network=True,
                        net_baud=250_000, gate_params=dict(max_frame=16, buffer_frames=2, burst=32,
                                                    rate=100_000))
    probes = {"rate": soc.gate.period_cfg[0], "burst": soc.gate.burst_cfg[0],
              "lock": soc.latch.lock}
    run = run_soc(soc, 400, probes=probes)
    assert run.probes["lock"] == lock
    assert (run.probes["rate"], run.probes["burst"]) == ((100, 20) if lock else (7000, 16))


@pytest.mark.parametrize("period", [None, 30])
def test_rate_follows_registers(period):
    """Sustained released throughput follows the RATE register written at init (and locked):
    one max_frame frame every max_frame * RATE cycles once the bucket is empty."""
    gate = small(max_frame=8, burst=8, rate=100_000, clk_hz=1_000_000, credits=16)

    async def bench(h, out):
        if period is not None:
            await h.write(0, "RATE", period)
            await h.write(0, "BURST", 8)
        h.ctx.set(gate.cfg_lock, 1)
        await h.tick()
        out["rate"] = h.read(0, "RATE")
        ends, cycle = [], 0
        for i in range(5):
            assert await h.send(0, list(range(8))) == ("ack", 0)
            await h.release(0)
            cycle += 10
            while len(h.sent) <= i:
                await h.tick()
                cycle += 1
            ends.append(cycle)
        out["gaps"] = [b - a for a, b in zip(ends, ends[1:])]

    out = run(gate, bench)
    p = period or 10
    assert out["rate"] == p
    # after the first frame (the full bucket), each 8-byte frame waits for 8 new tokens
    for gap in out["gaps"]:
        assert abs(gap - 8 * p) <= p + 2, out["gaps"]


def test_model_view_independent_of_hypervisor():
    """GATE.COVERT.CREDITS: the same model program sees the same answers, cycle for cycle,
    whether the hypervisor releases everything at once, drops everything, or does nothing."""
    def scenario(policy):
        gate = small(buffer_frames=1, credits=2, credit_period=40)

        async def bench(h, out):
            seen = []
            for i in range(12):
                seen.append(await h.send(0, [i, i + 1]))
                seen.append(await h.mbox(0, "CREDITS"))
                seen.append(await h.mbox(0, "TX_LEN"))
                seen.append(await h.mbox(0, "RX_STATUS"))
                if policy == "release":
                    await h.release(0)
                elif policy == "drop":
                    await h.drop(0)
                else:
                    await h.tick()
                await h.tick(3)
            out["seen"] = seen
        return run(gate, bench)["seen"]

    views = [scenario(p) for p in ("release", "drop", "idle")]
    assert views[0] == views[1] == views[2]
    assert ("err", None) in views[0] and ("ack", 0) in views[0]   # credits did run out


@pytest.mark.parametrize("kwargs, match", [
    (dict(rate=0), "rate"),
    (dict(rate=10, clk_hz=5), "rate"),
    (dict(rate=1, clk_hz=1 << 33), "rate"),
    (dict(burst=10_000), "burst"),
    (dict(burst=100), "burst"),
    (dict(n_models=5), "n_models"),
    (dict(max_frame=0), "max_frame"),
    (dict(buffer_frames=0), "buffer_frames"),
    (dict(credits=0), "credits"),
    (dict(counter_width=17), "counter_width"),
])
def test_bad_parameters(kwargs, match):
    params = dict(n_models=1)
    params.update(kwargs)
    with pytest.raises(GuillotineError, match=match):
        NicGate(**params)


def test_defaults_and_registers():
    gate = NicGate(2)
    assert gate.max_frame == 256 and gate.burst == 256 and gate.refill_period == 2400
    assert gate.registers["RATE"].reset == 2400 and gate.registers["BURST"].reset == 256
    assert G["RATE"].offset == 0x40 and G["BURST"].offset == 0x44
    assert "cfg_lock" in gate.signature.members
    assert G.size == 0x100 and G.addr_width == 6
    assert set(gate.signature.members) >= {"phy_tx", "phy_rx", "egress_block", "net_cut",
                                            "mailbox_0", "mailbox_1", "csr_0", "csr_1"}
    from amaranth.back import rtlil
    rtlil.convert(gate)


def test_countermeasures_are_covered():
    import ast
    from pathlib import Path
    root = Path(__file__).parent.parent
    for cm in COUNTERMEASURES:
        for ref in cm.covered_by:
            path, name = ref.split("::")
            tree = ast.parse((root / path).read_text())
            names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
            assert name in names, f"{cm.name}: {ref} does not exist"


def test_release_latency():
    """From the CMD write strobe to the tag byte on phy_tx: 2 cycles (engine idle, tokens)."""
    gate = small()

    async def bench(h, out):
        await h.send(0, [1])
        csr = gate.csr_0
        h.ctx.set(csr.addr, G.word("CMD"))
        h.ctx.set(csr.w_data, 1)
        h.ctx.set(csr.w_stb, 1)
        cycles = 0
        while not h.ctx.get(gate.phy_tx.valid):
            await h.tick()
            h.ctx.set(csr.w_stb, 0)
            cycles += 1
        out["cycles"] = cycles
        out["tag"] = h.ctx.get(gate.phy_tx.payload.data)

    out = run(gate, bench)
    assert out["cycles"] == 2 and out["tag"] == 0


def test_doc_is_up_to_date():
    from pathlib import Path
    from guillotine.hdl.nic_gate import update_doc
    page = Path(__file__).parent.parent / "docs" / "nic_gate.md"
    text = page.read_text()
    assert update_doc(text) == text, "run: python -m guillotine.hdl.nic_gate docs/nic_gate.md"


def test_uart_phy_loopback():
    """End to end through hdl/nic_phy.py's UART PHY (COBS + CRC-16) with its line looped back:
    a released frame (with a zero byte) returns as an ingress frame of the model of its tag."""
    nic_phy = pytest.importorskip("guillotine.hdl.nic_phy")
    from amaranth import Module
    from amaranth.lib import wiring

    gate = small()
    phy = nic_phy.UartPhy(1_000_000, 250_000, max_frame=16)

    class Top(wiring.Component):
        def __init__(self):
            super().__init__({})

        def elaborate(self, platform):
            m = Module()
            m.submodules.gate, m.submodules.phy = gate, phy
            wiring.connect(m, gate.phy_tx, phy.tx)
            wiring.connect(m, phy.rx, gate.phy_rx)
            m.d.comb += [phy.tx_enable.eq(~gate.net_cut), phy.line_rx.eq(phy.line_tx)]
            return m

    top = Top()
    sim = Simulator(top)
    sim.add_clock(1e-6)
    out = {}

    async def bench(ctx):
        h = Harness(ctx, gate)
        await h.send(0, [1, 0, 3])
        await h.send(1, [9])
        await h.release(0)
        await h.release(1)
        await h.tick(1500)
        out["rx"] = [await h.receive(0), await h.receive(1)]
        out["counts"] = [(h.read(n, "RELEASED"), h.read(n, "RX_DELIVERED")) for n in range(2)]
    sim.add_testbench(bench)
    sim.run()
    assert out["rx"] == [[1, 0, 3], [9]]
    assert out["counts"] == [(1, 1), (1, 1)]


# --- randomised scoreboard ------------------------------------------------------------------
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

_MAXF, _B, _R, _N = 6, 2, 1, 2
_op = st.one_of(
    st.tuples(st.just("send"), st.integers(0, _N - 1), st.binary(max_size=_MAXF + 1)),
    st.tuples(st.just("release"), st.integers(0, _N - 1)),
    st.tuples(st.just("drop"), st.integers(0, _N - 1)),
    st.tuples(st.just("inspect"), st.integers(0, _N - 1)),
    st.tuples(st.just("rx"), st.integers(0, _N + 1), st.binary(max_size=_MAXF + 1),
              st.booleans()),
    st.tuples(st.just("recv"), st.integers(0, _N - 1)),
    st.tuples(st.just("ready"), st.booleans()),
    st.tuples(st.just("wait"), st.integers(0, 12)),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_op, max_size=40))
def test_scoreboard_random(ops):
    """Random model, hypervisor and network traffic against a reference queue model: frames
    leave only when released, unchanged, in order, under their model's tag; ingress reaches
    exactly the tagged model; every counter matches the reference."""
    gate = NicGate(_N, max_frame=_MAXF, buffer_frames=_B, rx_frames=_R, rate=1_000_000,
                   clk_hz=2_000_000, burst=2 * _MAXF, credits=255, credit_period=1 << 20)
    q = [[] for _ in range(_N)]           # quarantined frames per model (reference)
    rq = [[] for _ in range(_N)]          # ingress frames per model (reference)
    released = [0] * _N                   # outstanding releases per model
    c = {k: [0] * _N for k in ("rel", "drop", "over", "viol", "overflow", "deliv", "rxdrop")}
    unknown = [0]

    async def bench(h, out):
        seen = [0]

        def check_sent():
            while seen[0] < len(h.sent):
                frame = h.sent[seen[0]]
                seen[0] += 1
                tag, payload = frame[0], frame[1:]
                assert tag < _N, f"frame with tag {tag}"
                assert released[tag] > 0, "a frame left without a release"
                assert q[tag] and payload == q[tag][0], "the frame is not the inspected head"
                q[tag].pop(0)
                released[tag] -= 1
                c["rel"][tag] += 1

        async def tick(n=1):
            for _ in range(n):
                await h.tick()
                check_sent()

        def busy(n):
            return h.read(n, "STATUS", "pending") or h.read(n, "STATUS", "sending")

        for op in ops:
            kind = op[0]
            if kind == "send":
                _, n, payload = op
                for i, b in enumerate(payload):
                    r = await h.mbox(n, "TX_DATA", b)
                    check_sent()
                    if i == _MAXF:
                        assert r == ("err", None)
                        c["over"][n] += 1
                        c["viol"][n] += 1
                        break
                    assert r == ("ack", 0)
                else:
                    stored = len(q[n]) < _B
                    r = await h.mbox(n, "TX_COMMIT", 1)
                    if not payload:
                        assert r == ("err", None)
                        c["viol"][n] += 1
                    else:
                        assert r == ("ack", 0)
                        if stored:
                            q[n].append(list(payload))
                        else:
                            c["overflow"][n] += 1
                    check_sent()
            elif kind == "release":
                n = op[1]
                accepted = len(q[n]) > released[n] and not busy(n)
                await h.release(n)
                check_sent()
                if accepted:
                    released[n] += 1
            elif kind == "drop":
                n = op[1]
                if q[n] and not busy(n):
                    await h.drop(n)
                    q[n].pop(0)
                    c["drop"][n] += 1
                    check_sent()
            elif kind == "inspect":
                n = op[1]
                if not busy(n):
                    assert await h.inspect(n) == (q[n][0] if q[n] else [])
            elif kind == "rx":
                _, tag, payload, bad = op
                room = tag < _N and len(rq[tag]) < _R
                await h.rx_frame(tag, list(payload), bad=bad)
                check_sent()
                if tag >= _N:
                    unknown[0] += 1
                elif room and payload and len(payload) <= _MAXF and not bad:
                    rq[tag].append(list(payload))
                    c["deliv"][tag] += 1
                else:
                    c["rxdrop"][tag] += 1
            elif kind == "recv":
                n = op[1]
                got = await h.receive(n)
                check_sent()
                assert got == (rq[n].pop(0) if rq[n] else None)
            elif kind == "ready":
                h.ctx.set(gate.phy_tx.ready, op[1])
            else:
                await tick(op[1])
        # Drain: release everything left; every frame leaves, in order.
        h.ctx.set(gate.phy_tx.ready, 1)
        for _ in range(3 * _B + 2):
            await tick(40)
            for n in range(_N):
                if q[n] and released[n] == 0 and not busy(n):
                    await h.release(n)
                    released[n] += 1
        await tick(40)
        assert q == [[] for _ in range(_N)] and released == [0] * _N
        for n in range(_N):
            got = {k: h.read(n, reg) for k, reg in (
                ("rel", "RELEASED"), ("drop", "DROPPED"), ("over", "OVERSIZE"),
                ("viol", "VIOLATIONS"), ("overflow", "OVERFLOW"), ("deliv", "RX_DELIVERED"),
                ("rxdrop", "RX_DROPPED"))}
            assert got == {k: v[n] for k, v in c.items()}, f"model {n}"
            assert h.read(n, "RX_UNKNOWN") == unknown[0]

    run(gate, bench)
