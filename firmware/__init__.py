"""Firmware tooling: RV32I assembler, disassembler, Policy compiler and model programs."""
