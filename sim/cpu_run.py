"""Run a program on the RV32I core (:class:`~guillotine.hdl.cpu.harness.CoreWithRAM`) in the
Amaranth simulator, until it halts, stores to ``tohost`` or runs out of cycles.

    from guillotine.sim.cpu_run import run_amaranth
    result = run_amaranth(image_bytes, ram_size=4096, tohost=0xFFC, max_cycles=100_000)
    result.outcome, result.tohost_value, result.cause, result.cycles, result.regs

Used by the core's tests, ``guillotine run --backend amaranth`` and ``benchmarks/cpu.py``.
"""

from dataclasses import dataclass, field

from guillotine.hdl.cpu.causes import HaltCause
from guillotine.hdl.cpu.harness import CoreWithRAM
from guillotine.sim.amaranth_sim import simulate

__all__ = ["CpuRun", "Retired", "run_amaranth", "DEFAULT_TOHOST"]

#: Where ``guillotine run`` and the tests expect the pass/fail word by default: outside any RAM,
#: and reachable with one instruction (``sw a0, -16(zero)``).
DEFAULT_TOHOST = 0xFFFF_FFF0


@dataclass(frozen=True)
class Retired:
    """One entry of the core's retirement trace (same fields as ``sim.isa.Retirement``)."""
    pc: int
    insn: int
    rd: int
    value: int


@dataclass
class CpuRun:
    """Outcome of a run: ``outcome`` is ``"tohost"``, ``"halt"`` or ``"timeout"``."""
    outcome: str
    cycles: int
    retired: int
    cause: HaltCause = HaltCause.NONE
    pc: int = 0                                    # the core's pc at the end (halting insn)
    tohost_value: int | None = None
    regs: list = field(default_factory=list)       # x0..x31 at the end
    trace: list = field(default_factory=list)      # Retired entries, if asked for
    ram: bytes | None = None                       # RAM contents at the end, if asked for


def run_amaranth(image, *, ram_size=65536, max_cycles=100_000, tohost=None, reset_addr=0,
                 vcd=None, keep_trace=False, read_ram=False, on_retire=None, progress=None):
    """Simulate ``image`` (bytes loaded at 0) on the core and return a :class:`CpuRun`.

    Stops at the first store to ``tohost`` (if given), when the core halts, or after
    ``max_cycles`` clock cycles. ``on_retire(Retired)`` is called for each retired instruction;
    it may raise to stop the run (e.g. a lockstep mismatch). ``vcd``: path of a VCD trace.
    ``progress(cycles)`` is called every 16384 cycles.
    """
    dut = CoreWithRAM(ram_size, bytes(image), reset_addr=reset_addr, tohost=tohost)
    result = CpuRun("timeout", 0, 0)

    async def bench(ctx):
        cycles = retired = 0
        trace = result.trace
        while cycles < max_cycles:
            await ctx.tick()
            cycles += 1
            if progress is not None and not cycles & 0x3FFF:
                progress(cycles)
            if ctx.get(dut.retire_valid):
                retired += 1
                if keep_trace or on_retire is not None:
                    entry = Retired(ctx.get(dut.retire_pc), ctx.get(dut.retire_insn),
                                    ctx.get(dut.retire_rd), ctx.get(dut.retire_value))
                    if keep_trace:
                        trace.append(entry)
                    if on_retire is not None:
                        on_retire(entry)
            if tohost is not None and ctx.get(dut.tohost_valid):
                result.outcome = "tohost"
                result.tohost_value = ctx.get(dut.tohost_value)
                break
            if ctx.get(dut.halt):
                result.outcome = "halt"
                result.cause = HaltCause(ctx.get(dut.cause))
                break
        result.pc = ctx.get(dut.pc)
        result.cycles = cycles
        result.retired = retired
        result.regs = [0] + [ctx.get(dut.core.regfile[i]) for i in range(1, 32)]
        if read_ram:
            words = [ctx.get(dut.ram.data[i]) for i in range(dut.ram.depth)]
            result.ram = b"".join(w.to_bytes(4, "little") for w in words)

    simulate(dut, bench, trace=vcd)
    return result
