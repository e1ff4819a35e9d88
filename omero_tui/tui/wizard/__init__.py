"""The relocation wizard: one screen, one page per step, on top of the relocation engine."""
