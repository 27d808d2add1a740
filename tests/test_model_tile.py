"""Model tile unit tests: introspection rules, freeze safety, scrubber, firewall pulses."""

from guillotine.firmware.asm import assemble_text
from guillotine.firmware.programs import COUNTER_ADDR, counter_model
from guillotine.hdl.cpu.causes import HaltCause
from guillotine.hdl.model_tile import ModelTile
from guillotine.sim.amaranth_sim import simulate


async def _inspect(ctx, tile, word, write=None):
    """One introspection access; returns ("ack", data) or ("err", None)."""
    ctx.set(tile.insp_adr, word)
    ctx.set(tile.insp_we, write is not None)
    ctx.set(tile.insp_dat_w, write or 0)
    ctx.set(tile.insp_sel, 0b1111)
    ctx.set(tile.insp_req, 1)
    for _ in range(4):
        await ctx.delay(1e-9)
        if ctx.get(tile.insp_err):
            result = ("err", None)
            break
        if ctx.get(tile.insp_ack):
            result = ("ack", ctx.get(tile.insp_r_data))
            break
        await ctx.tick()
    else:
        result = ("timeout", None)
    await ctx.tick()
    ctx.set(tile.insp_req, 0)
    return result


def test_introspection_rules():
    tile = ModelTile(1024, counter_model().data)
    results = {}

    async def bench(ctx):
        ctx.set(tile.hold, 0)
        await ctx.tick().repeat(200)
        results["running_read"] = await _inspect(ctx, tile, COUNTER_ADDR // 4)
        ctx.set(tile.freeze, 1)
        await ctx.tick()
        results["frozen_read"] = await _inspect(ctx, tile, COUNTER_ADDR // 4)
        results["frozen_write"] = await _inspect(ctx, tile, 3, write=0xDEADBEEF)
        results["frozen_read_again"] = await _inspect(ctx, tile, COUNTER_ADDR // 4)
        ctx.set(tile.hold, 1)
        await ctx.tick()
        results["held_write"] = await _inspect(ctx, tile, 100, write=0x12345678)
        results["held_read"] = await _inspect(ctx, tile, 100)
        results["word3"] = ctx.get(tile.ram_data[3])

    simulate(tile, bench)
    assert results["running_read"][0] == "err"                 # refused while running
    kind, count = results["frozen_read"]
    assert kind == "ack" and count > 10                         # the model did count
    assert results["frozen_write"][0] == "err"                  # no writes while only frozen
    assert results["frozen_read_again"] == ("ack", count)       # frozen: the count is still
    assert results["word3"] != 0xDEADBEEF
    assert results["held_write"] == ("ack", 0)
    assert results["held_read"] == ("ack", 0x12345678)


def test_freezing_never_corrupts_the_model():
    """Freeze at every phase of the model's loop and inspect meanwhile: it counts on exactly."""
    tile = ModelTile(1024, counter_model().data)
    seen = []

    async def bench(ctx):
        ctx.set(tile.hold, 0)
        for phase in range(40):
            await ctx.tick().repeat(3 + phase % 7)
            ctx.set(tile.freeze, 1)
            await ctx.tick()
            seen.append((await _inspect(ctx, tile, COUNTER_ADDR // 4))[1])
            await _inspect(ctx, tile, (COUNTER_ADDR // 4) + 1)
            ctx.set(tile.freeze, 0)
        assert not ctx.get(tile.halt)

    simulate(tile, bench)
    assert all(b - a in (0, 1, 2) for a, b in zip(seen, seen[1:])), seen
    assert seen[-1] >= 15


def test_scrub_only_while_held():
    """A scrub needs HOLD; it zeroes the RAM and the core's register file."""
    tile = ModelTile(256, counter_model().data)

    async def bench(ctx):
        ctx.set(tile.hold, 0)
        await ctx.tick().repeat(100)
        ctx.set(tile.scrub, 1)                      # not held: ignored
        await ctx.tick()
        ctx.set(tile.scrub, 0)
        await ctx.tick().repeat(80)
        assert ctx.get(tile.ram_data[0]) != 0
        ctx.set(tile.hold, 1)
        ctx.set(tile.scrub, 1)
        await ctx.tick()
        ctx.set(tile.scrub, 0)
        assert ctx.get(tile.scrub_busy)
        assert any(ctx.get(tile.core.regfile[i]) for i in range(32))   # the loop's registers
        await ctx.tick().repeat(64)
        assert not ctx.get(tile.scrub_busy)
        assert all(ctx.get(tile.ram_data[i]) == 0 for i in range(64))
        # The register file is scrubbed too: nothing survives for the next program.
        assert all(ctx.get(tile.core.regfile[i]) == 0 for i in range(32))

    simulate(tile, bench)


def test_stray_access_pulses_violation_once_and_halts():
    image = assemble_text("li t0, 0x10000000\nlw a0, 0(t0)\nj .\n").data
    tile = ModelTile(256, image)
    pulses = []

    async def bench(ctx):
        ctx.set(tile.hold, 0)
        for _ in range(60):
            await ctx.tick()
            pulses.append(ctx.get(tile.violation))
        assert ctx.get(tile.halt) and ctx.get(tile.cause) == HaltCause.BUS_ERROR_LOAD

    simulate(tile, bench)
    assert sum(pulses) == 1
