"""The intents tests start from the export tests' configured store."""

from tests.export.conftest import store, template, world, xw

__all__ = ["store", "template", "world", "xw"]
