"""Write a new Alembic revision from the difference between the models and the migrations.

    .venv/bin/python scripts/make_migration.py "what changed"

Review the generated file before committing it.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command

from exact_tui.store import migrations
from exact_tui.store.engine import create_engine


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{Path(tmp) / 'scratch.db'}")
        if list((migrations.HERE / "versions").glob("*.py")):
            migrations.upgrade(engine)
        with engine.connect() as conn:
            count = len(list((migrations.HERE / "versions").glob("*.py")))
            revision = f"{count + 1:04d}"
            command.revision(
                migrations.config(conn), message=sys.argv[1], autogenerate=True, rev_id=revision
            )
        engine.dispose()
    if revision != migrations.HEAD:
        print(f"now set HEAD = {revision!r} in exact_tui/store/migrations/__init__.py")


if __name__ == "__main__":
    main()
