"""The client tests use the connection tests' in-process sandbox world."""

from tests.connection.conftest import connected, world

__all__ = ["connected", "world"]
