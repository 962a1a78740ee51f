"""exact-tui: export engine and operations console for an Exact Online integration."""

__version__ = "0.1.0"
