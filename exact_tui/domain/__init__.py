"""Pure rules and types: no I/O, no imports from the rest of the project."""
