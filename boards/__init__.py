"""Board targets, toolchain environment, bitstream build and programming."""
