"""Halt causes shared by the RV32I core (``hdl/cpu``) and the ISA reference model (``sim/isa``).

The core has no CSRs and no traps: any of these stops it and is reported on its ``cause`` output.
The SoC turns a model core's halt into a violation pulse for the kill latch.
"""

import enum


class HaltCause(enum.IntEnum):
    """Why a core stopped (value of the core's 4-bit ``cause`` output)."""
    NONE = 0                #: running
    ILLEGAL = 1             #: illegal or unsupported instruction encoding
    MISALIGNED_FETCH = 2    #: jump/branch target not 4-byte aligned (halts at the jump, not retired)
    MISALIGNED_LOAD = 3     #: lh/lhu at odd address, lw not 4-aligned
    MISALIGNED_STORE = 4    #: sh at odd address, sw not 4-aligned
    BUS_ERROR_FETCH = 5     #: instruction fetch answered with a bus error
    BUS_ERROR_LOAD = 6      #: load answered with a bus error
    BUS_ERROR_STORE = 7     #: store answered with a bus error
    ECALL = 8               #: ecall executed
    EBREAK = 9              #: ebreak executed
