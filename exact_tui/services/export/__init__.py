"""The export pipeline (design §7, §8): invoices, payments and write-offs into Exact, once."""

from exact_tui.services.export.runner import ClientSource, ExportOptions, ExportService

__all__ = ["ClientSource", "ExportOptions", "ExportService"]
