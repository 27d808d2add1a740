"""Simulation and verification helpers: Amaranth simulator, SymbiYosys, cocotb runner, ISA model."""
