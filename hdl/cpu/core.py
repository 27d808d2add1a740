r"""A small multi-cycle RV32I core: one bus port, no CSRs, no interrupts, halts on any trap.

State machine (one instruction at a time, nothing overlaps)::

    reset -> START -> FETCH --ack--> EXEC --(ALU, LUI, AUIPC, JAL, JALR, fence)--> FETCH
                        |              |--(branch)--> BRANCH --> FETCH
                        |              |--(shift)--> SHIFT (1 cycle per bit) --> FETCH
                        |              |--(load/store)--> MEM --ack--> FETCH
                        \--err--> HALT <--trap-- EXEC, BRANCH (misaligned target), MEM (err)

- START (one cycle after reset) keeps ``cyc``/``stb`` low, so that a bus answer still pending from
  before a reset drains before the first fetch.
- FETCH requests the word at ``pc``. In the cycle the answer arrives the instruction is latched
  together with its decode (one-hot opcode, immediate, ALU operand selects), and the register file
  is read at the incoming instruction's ``rs1``/``rs2``, so EXEC needs no decode cycle.
- EXEC computes with the one shared 33-bit adder/subtractor (add, sub, compares, load/store
  address, JAL/JALR/AUIPC targets) and a ``pc + 4`` incrementer, writes ``rd``, updates ``pc``
  and retires. A branch compares in EXEC (the outcome is registered: it ends the longest carry
  chain, and deciding on it in the same cycle cost ~4 MHz) and spends one more cycle (BRANCH)
  where the same adder computes ``pc + imm``. Loads and stores latch address, byte selects and
  lane-aligned store data and go to MEM; a load writes ``rd`` from ``bus.dat_r`` in the ``ack``
  cycle.
- Shifts are serial: SHIFT moves a 32-bit register (the store-data register, reused) one bit per
  cycle. A barrel shifter costs ~220 LUTs on iCE40 (the whole core is ~880); the serial one ~50.

Cycles per instruction with :class:`~guillotine.hdl.bus.BusRAM` (one wait state, so 2 cycles
per bus access): ALU / LUI / AUIPC / JAL / JALR / fence: 3; branch (taken or not): 4;
shift by n: 4 + n; load / store: 5. In general: fetch latency + 1 (+1 branch, +1+n shift,
+ data access latency for loads/stores). Shift timing depends on the shift amount (data-dependent
timing, like most small cores; use constant shift amounts in code that must be constant-time).

Halting (see :class:`~guillotine.hdl.cpu.causes.HaltCause`): illegal instruction, misaligned
load/store address, misaligned jump or taken-branch target (halts *at* the jump: no register is
written and it does not retire), bus error on fetch/load/store, ``ecall`` and ``ebreak``: the core
stops in HALT with ``halt = 1`` and ``cause`` set, nothing is written and the trapping instruction
does not retire. Only a reset leaves HALT. ``fence`` is a no-op that retires.

Register file: a 32x32 :class:`~amaranth.lib.memory.Memory` with two read ports, each followed
by a register that is not loaded in a write cycle, which Yosys maps to synchronous block RAM
ports (4 EBR on iCE40) without read-during-write bypass logic. x0 is never written, so it reads as
zero. x1..x31 are *not* cleared by a reset (they power up as zero): a program must not rely on
their values after a reset, and the SoC must treat them as part of the model's state.

Clock enable: everything is in the ``sync`` domain, so the SoC can freeze the core with
``EnableInserter``. The core holds its bus request while frozen; the SoC should gate ``cyc``/``stb``
with the same enable if a subordinate has read/write side effects.

Members
-------
bus : Out(BusSignature())             instruction and data accesses
halt : Out(1)                         the core has stopped (sticky until reset)
cause : Out(4)                        :class:`HaltCause` (``NONE`` while running)
pc : Out(32)                          program counter; once halted, the halting instruction
retire_valid : Out(1)                 an instruction retires in this cycle
retire_pc, retire_insn : Out(32)      its address and encoding
retire_rd : Out(5)                    destination register written (0 when none)
retire_value : Out(32)                value written (0 when none)
"""

from amaranth import Module, Signal, Cat, Const, Mux
from amaranth.lib import wiring
from amaranth.lib.memory import Memory, MemoryData
from amaranth.lib.wiring import In, Out

from ..bus import BusSignature
from .causes import HaltCause

__all__ = ["RV32ICore"]

# Major opcodes (insn[6:0]).
OP_LUI, OP_AUIPC, OP_JAL, OP_JALR = 0x37, 0x17, 0x6F, 0x67
OP_BRANCH, OP_LOAD, OP_STORE = 0x63, 0x03, 0x23
OP_IMM, OP_OP, OP_FENCE, OP_SYSTEM = 0x13, 0x33, 0x0F, 0x73
INSN_ECALL, INSN_EBREAK = 0x00000073, 0x00100073


class RV32ICore(wiring.Component):
    __doc__ = __doc__

    def __init__(self, reset_addr=0):
        if not isinstance(reset_addr, int) or not 0 <= reset_addr < 1 << 32 or reset_addr % 4:
            self._MustUse__silence = True       # not "created but never used": it was refused
            raise ValueError(f"Reset address must be a 4-byte aligned 32-bit address, "
                             f"not {reset_addr!r}")
        self._reset_addr = reset_addr
        #: x0..x31 (``ctx.get(core.regfile[i])`` reads register ``i`` in simulation).
        self.regfile = MemoryData(shape=32, depth=32, init=[])
        super().__init__({
            "bus": Out(BusSignature()),
            "halt": Out(1),
            "cause": Out(4),
            "pc": Out(32),
            "retire_valid": Out(1),
            "retire_pc": Out(32),
            "retire_insn": Out(32),
            "retire_rd": Out(5),
            "retire_value": Out(32),
            "rf_clear": In(1),
            "rf_clear_addr": In(5),
        })

    @property
    def reset_addr(self):
        return self._reset_addr

    def elaborate(self, platform):
        m = Module()
        bus = self.bus

        # --- architectural and sequencing state -------------------------------------------------
        pc_word = Signal(30, init=self._reset_addr >> 2)
        pc = Cat(Const(0, 2), pc_word)
        ir = Signal(32)
        cause = Signal(4)
        mem_adr = Signal(30)     # data access: word address, byte offset, byte selects
        mem_off = Signal(2)
        mem_sel = Signal(4)
        mem_dat = Signal(32)     # store data, and the serial shifter's register
        count = Signal(5)        # serial shifter: bits left to shift

        m.submodules.regs = regs = Memory(data=self.regfile)
        # Asynchronous read ports followed by a register: Yosys merges the register into the
        # port and, seeing that it is not enabled in a cycle that writes, maps it to block RAM
        # without a read-during-write bypass. (A synchronous Amaranth read port reaches Yosys as
        # "read old data on collision", which costs ~70 FF + ~70 LUT of emulation on iCE40.)
        rp1 = regs.read_port(domain="comb")
        rp2 = regs.read_port(domain="comb")
        wp = regs.write_port()

        # --- decode, done on the fetched word and registered with it ------------------------------
        # (keeps the EXEC cycle short: ir -> control is one flip-flop, not several LUT levels)
        word = bus.dat_r
        d_opcode = word[0:7]
        d_funct3 = word[12:15]
        d_funct7 = word[25:32]
        d_sign = word[31]
        d_legal = Signal()
        with m.Switch(d_opcode):
            with m.Case(OP_LUI, OP_AUIPC, OP_JAL):
                m.d.comb += d_legal.eq(1)
            with m.Case(OP_JALR):
                m.d.comb += d_legal.eq(d_funct3 == 0)
            with m.Case(OP_BRANCH):
                m.d.comb += d_legal.eq(d_funct3[1:3] != 0b01)
            with m.Case(OP_LOAD):
                m.d.comb += d_legal.eq((d_funct3[0:2] != 0b11) & ~(d_funct3[2] & d_funct3[1]))
            with m.Case(OP_STORE):
                m.d.comb += d_legal.eq(~d_funct3[2] & (d_funct3[0:2] != 0b11))
            with m.Case(OP_IMM):
                with m.Switch(d_funct3):
                    with m.Case(1):
                        m.d.comb += d_legal.eq(d_funct7 == 0)
                    with m.Case(5):
                        m.d.comb += d_legal.eq((d_funct7 & 0b1011111) == 0)
                    with m.Default():
                        m.d.comb += d_legal.eq(1)
            with m.Case(OP_OP):
                sub_or_sra = (d_funct3 == 0) | (d_funct3 == 5)
                m.d.comb += d_legal.eq((d_funct7 == 0) | ((d_funct7 == 0b0100000) & sub_or_sra))
            with m.Case(OP_FENCE):
                m.d.comb += d_legal.eq(d_funct3 == 0)
            with m.Case(OP_SYSTEM):
                m.d.comb += d_legal.eq((word == INSN_ECALL) | (word == INSN_EBREAK))
            # every case above has insn[1:0] == 0b11, so 16-bit encodings are illegal too

        d_imm = Signal(32)
        with m.Switch(d_opcode):
            with m.Case(OP_STORE):
                m.d.comb += d_imm.eq(Cat(word[7:12], word[25:31], d_sign.replicate(21)))
            with m.Case(OP_BRANCH):
                m.d.comb += d_imm.eq(Cat(Const(0, 1), word[8:12], word[25:31], word[7],
                                         d_sign.replicate(20)))
            with m.Case(OP_LUI, OP_AUIPC):
                m.d.comb += d_imm.eq(Cat(Const(0, 12), word[12:32]))
            with m.Case(OP_JAL):
                m.d.comb += d_imm.eq(Cat(Const(0, 1), word[21:31], word[20], word[12:20],
                                         d_sign.replicate(12)))
            with m.Default():
                m.d.comb += d_imm.eq(Cat(word[20:31], d_sign.replicate(21)))

        imm = Signal(32)
        legal = Signal()
        is_lui, is_branch, is_load, is_store = Signal(), Signal(), Signal(), Signal()
        is_system = Signal()
        is_shift = Signal()      # sll/srl/sra and their immediate forms
        alu_op = Signal(3)       # funct3 for OP/OP-IMM, 0 (add) otherwise
        sub_op = Signal()        # subtract in EXEC (sub, slt(i)(u), branch comparison)
        a_pc = Signal()          # ALU operand A is pc (AUIPC, JAL, branch target), else rs1
        b_rs2 = Signal()         # ALU operand B is rs2 (OP, branch comparison), else imm
        is_jump = Signal()       # JAL or JALR
        taken_q = Signal()       # branch condition, registered at the end of EXEC
        writes_rd = Signal()
        d_alu = (d_opcode == OP_OP) | (d_opcode == OP_IMM)

        # --- fetch ack: latch the instruction and its decode ---------------------------------
        fetch_ack = Signal()
        with m.If(fetch_ack):
            m.d.sync += [
                ir.eq(word), imm.eq(d_imm), legal.eq(d_legal),
                is_lui.eq(d_opcode == OP_LUI),
                is_jump.eq((d_opcode == OP_JAL) | (d_opcode == OP_JALR)),
                a_pc.eq((d_opcode == OP_AUIPC) | (d_opcode == OP_JAL)),
                b_rs2.eq((d_opcode == OP_OP) | (d_opcode == OP_BRANCH)),
                is_branch.eq(d_opcode == OP_BRANCH), is_load.eq(d_opcode == OP_LOAD),
                is_store.eq(d_opcode == OP_STORE), is_system.eq(d_opcode == OP_SYSTEM),
                is_shift.eq(d_alu & (d_funct3[0:2] == 0b01)),
                alu_op.eq(Mux(d_alu, d_funct3, 0)),
                sub_op.eq((d_opcode == OP_BRANCH) |
                          ((d_opcode == OP_OP) & word[30] & (d_funct3 == 0)) |
                          (d_alu & (d_funct3[1:3] == 0b01))),
                writes_rd.eq((d_opcode != OP_BRANCH) & (d_opcode != OP_STORE) &
                             (d_opcode != OP_FENCE) & (d_opcode != OP_SYSTEM) &
                             (word[7:12] != 0)),
            ]

        rd = ir[7:12]
        funct3 = ir[12:15]

        # Register file reads: addressed from the instruction arriving on the bus during FETCH,
        # from ``ir`` afterwards (so the data stays stable in EXEC and MEM).
        src = Signal(32)
        rs1_val = Signal(32)
        rs2_val = Signal(32)

        # --- ALU: one 33-bit adder/subtractor and the logic ops --------------------------------
        # Operand A is pc for AUIPC, JAL and the BRANCH cycle, 0 for LUI, else rs1.
        # Operand B is rs2 for register-register ops and the branch comparison, else ``imm``.
        # (the selects are registered: decoded at fetch, changed when a branch enters BRANCH)
        a = Signal(32)
        b = Signal(32)
        m.d.comb += [
            a.eq(Mux(a_pc, pc, rs1_val & ~is_lui.replicate(32))),
            b.eq(Mux(b_rs2, rs2_val, imm)),
        ]
        sub = sub_op
        # Cat(sub, a) + Cat(sub, b ^ sub) == (a + (b ^ sub) + sub) << 1: one carry chain.
        wide = Signal(34)
        m.d.comb += wide.eq(Cat(sub, a) + Cat(sub, b ^ sub.replicate(32)))
        sum_ = wide[1:33]
        carry = wide[33]
        ltu = ~carry                                   # a - b borrowed
        lt = Mux(a[31] ^ b[31], a[31], ltu)
        eq = (a ^ b) == 0

        alu = Signal(32)
        with m.Switch(alu_op):
            with m.Case(2):
                m.d.comb += alu.eq(lt)
            with m.Case(3):
                m.d.comb += alu.eq(ltu)
            with m.Case(4):
                m.d.comb += alu.eq(a ^ b)
            with m.Case(6):
                m.d.comb += alu.eq(a | b)
            with m.Case(7):
                m.d.comb += alu.eq(a & b)
            with m.Default():          # add/sub (shifts use the serial shifter)
                m.d.comb += alu.eq(sum_)
        shamt = b[0:5]

        # --- control flow ---------------------------------------------------------------------
        pc_plus4 = Signal(32)
        m.d.comb += pc_plus4.eq(pc + 4)
        taken = Mux(funct3[2], Mux(funct3[1], ltu, lt), eq) ^ funct3[0]
        jump_target = Cat(Const(0, 1), sum_[1:32])     # JAL: pc + imm_j; JALR: clears bit 0

        # --- load/store ------------------------------------------------------------------------
        size = funct3[0:2]
        misaligned = ((size == 1) & sum_[0]) | ((size == 2) & (sum_[0:2] != 0))
        store_sel = Signal(4)
        store_dat = Signal(32)
        with m.Switch(size):
            with m.Case(0):
                m.d.comb += [store_sel.eq(Const(1, 4) << sum_[0:2]),
                             store_dat.eq(rs2_val[0:8].replicate(4))]
            with m.Case(1):
                m.d.comb += [store_sel.eq(Mux(sum_[1], 0b1100, 0b0011)),
                             store_dat.eq(rs2_val[0:16].replicate(2))]
            with m.Default():
                m.d.comb += [store_sel.eq(0b1111), store_dat.eq(rs2_val)]

        load_byte = bus.dat_r.word_select(mem_off, 8)
        load_half = bus.dat_r.word_select(mem_off[1], 16)
        load_val = Signal(32)
        with m.Switch(funct3):
            with m.Case(0):
                m.d.comb += load_val.eq(load_byte.as_signed())
            with m.Case(4):
                m.d.comb += load_val.eq(load_byte)
            with m.Case(1):
                m.d.comb += load_val.eq(load_half.as_signed())
            with m.Case(5):
                m.d.comb += load_val.eq(load_half)
            with m.Default():
                m.d.comb += load_val.eq(bus.dat_r)

        # --- result and retirement -------------------------------------------------------------
        exec_value = Mux(is_jump, pc_plus4, alu)
        wdata = Signal(32)
        retire = Signal()
        do_write = retire & writes_rd
        m.d.comb += [
            # rf_clear (driven while the core is held in reset) zeroes one register per cycle,
            # so nothing of a previous program survives in the register file.
            wp.addr.eq(Mux(self.rf_clear, self.rf_clear_addr, rd)),
            wp.data.eq(Mux(self.rf_clear, 0, wdata)),
            wp.en.eq(do_write | self.rf_clear),
            self.retire_valid.eq(retire),
            self.retire_pc.eq(pc),
            self.retire_insn.eq(ir),
            self.retire_rd.eq(Mux(do_write, rd, 0)),
            self.retire_value.eq(Mux(do_write, wdata, 0)),
            self.cause.eq(cause),
            self.pc.eq(pc),
            rp1.addr.eq(src[15:20]),
            rp2.addr.eq(src[20:25]),
        ]
        # never read in a write cycle: no read-during-write collision
        with m.If(~do_write & ~self.rf_clear):
            m.d.sync += [rs1_val.eq(rp1.data), rs2_val.eq(rp2.data)]

        with m.FSM(init="START"):
            with m.State("START"):
                m.d.comb += src.eq(ir)
                m.next = "FETCH"

            with m.State("FETCH"):
                m.d.comb += [
                    src.eq(bus.dat_r),
                    bus.cyc.eq(1), bus.stb.eq(1),
                    bus.adr.eq(pc_word), bus.sel.eq(0b1111),
                ]
                with m.If(bus.err):
                    m.d.sync += cause.eq(HaltCause.BUS_ERROR_FETCH)
                    m.next = "HALT"
                with m.Elif(bus.ack):
                    m.d.comb += fetch_ack.eq(1)
                    m.next = "EXEC"

            with m.State("EXEC"):
                m.d.comb += [src.eq(ir), wdata.eq(exec_value)]
                with m.If(~legal):
                    m.d.sync += cause.eq(HaltCause.ILLEGAL)
                    m.next = "HALT"
                with m.Elif(is_system):
                    m.d.sync += cause.eq(Mux(ir[20], HaltCause.EBREAK, HaltCause.ECALL))
                    m.next = "HALT"
                with m.Elif(is_load | is_store):
                    with m.If(misaligned):
                        m.d.sync += cause.eq(Mux(is_store, HaltCause.MISALIGNED_STORE,
                                                 HaltCause.MISALIGNED_LOAD))
                        m.next = "HALT"
                    with m.Else():
                        m.d.sync += [mem_adr.eq(sum_[2:32]), mem_off.eq(sum_[0:2]),
                                     mem_sel.eq(store_sel), mem_dat.eq(store_dat)]
                        m.next = "MEM"
                with m.Elif(is_shift):
                    m.d.sync += [mem_dat.eq(a), count.eq(shamt)]
                    m.next = "SHIFT"
                with m.Elif(is_branch):
                    # The comparison ends a long carry chain: only register its outcome here,
                    # and decide in BRANCH, where the ALU computes pc + imm_b.
                    m.d.sync += [taken_q.eq(taken), a_pc.eq(1), b_rs2.eq(0), sub_op.eq(0)]
                    m.next = "BRANCH"
                with m.Elif(is_jump & sum_[1]):
                    m.d.sync += cause.eq(HaltCause.MISALIGNED_FETCH)
                    m.next = "HALT"
                with m.Else():
                    m.d.comb += retire.eq(1)
                    m.d.sync += pc_word.eq(Mux(is_jump, jump_target[2:32], pc_plus4[2:32]))
                    m.next = "FETCH"

            with m.State("BRANCH"):
                m.d.comb += src.eq(ir)
                with m.If(taken_q & sum_[1]):
                    m.d.sync += cause.eq(HaltCause.MISALIGNED_FETCH)
                    m.next = "HALT"
                with m.Else():
                    m.d.comb += retire.eq(1)
                    m.d.sync += pc_word.eq(Mux(taken_q, sum_[2:32], pc_plus4[2:32]))
                    m.next = "FETCH"

            with m.State("SHIFT"):
                m.d.comb += [src.eq(ir), wdata.eq(mem_dat)]
                with m.If(count == 0):
                    m.d.comb += retire.eq(1)
                    m.d.sync += pc_word.eq(pc_plus4[2:32])
                    m.next = "FETCH"
                with m.Else():
                    m.d.sync += count.eq(count - 1)
                    with m.If(funct3 == 1):
                        m.d.sync += mem_dat.eq(Cat(Const(0, 1), mem_dat[0:31]))
                    with m.Else():
                        m.d.sync += mem_dat.eq(Cat(mem_dat[1:32], ir[30] & mem_dat[31]))

            with m.State("MEM"):
                m.d.comb += [
                    src.eq(ir), wdata.eq(load_val),
                    bus.cyc.eq(1), bus.stb.eq(1), bus.we.eq(is_store),
                    bus.adr.eq(mem_adr), bus.sel.eq(Mux(is_store, mem_sel, 0b1111)),
                    bus.dat_w.eq(mem_dat),
                ]
                with m.If(bus.err):
                    m.d.sync += cause.eq(Mux(is_store, HaltCause.BUS_ERROR_STORE,
                                             HaltCause.BUS_ERROR_LOAD))
                    m.next = "HALT"
                with m.Elif(bus.ack):
                    m.d.comb += retire.eq(1)
                    m.d.sync += pc_word.eq(pc_plus4[2:32])
                    m.next = "FETCH"

            with m.State("HALT"):
                m.d.comb += [src.eq(ir), self.halt.eq(1)]

        return m
