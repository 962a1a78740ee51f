"""Use cases: what the CLI and the console ask for. They return plain dataclasses, never ORM
objects or HTTP responses."""
