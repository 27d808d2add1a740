"""The RV32I core used for the hypervisor and every model (DESIGN §6)."""
