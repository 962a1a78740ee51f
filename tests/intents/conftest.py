"""The intents tests start from the export tests' configured store."""

from tests.export.conftest import db_url, template, world, xw

__all__ = ["db_url", "template", "world", "xw"]
