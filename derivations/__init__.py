"""One module per derivation of CATALOG.md, each found by the registry by its presence."""
