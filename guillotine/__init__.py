"""Guillotine SoC: a hardened hypervisor SoC that isolates untrusted AI workloads.

The import root. RTL lives in :mod:`guillotine.hdl`, firmware tooling in
:mod:`guillotine.firmware`, simulation/verification helpers in :mod:`guillotine.sim` and board
targets in :mod:`guillotine.boards`. The ``guillotine`` command is :mod:`guillotine.cli`.
"""

__version__ = "0.1.0"


class GuillotineError(ValueError):
    """A user-facing error: bad parameter, bad input file, missing tool.

    The CLI prints its message as one line and exits non-zero; it never shows a traceback.
    """
