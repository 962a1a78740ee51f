"""The export pipeline (docs/export.md): invoices, payments and write-offs into Exact, once."""

from exact_tui.services.export.runner import ClientSource, ExportOptions, ExportService

__all__ = ["ClientSource", "ExportOptions", "ExportService"]
