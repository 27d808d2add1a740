"""Amaranth components of the Guillotine SoC (bus, cpu, memory, kill latch, NIC gate, SoC)."""
