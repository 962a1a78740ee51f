"""The `exact-tui` command: a bare `exact-tui` opens the console; subcommands are the headless
parity of every console action (docs/architecture.md §Command line). Exit codes: 0 done, 1 refused,
2 usage.

`root` holds the group and the console, `wiring` what commands share, `output` how they print;
the commands live by area in `exports`, `admin`, `connection`, `operations` and `demo`. Each
command imports the services it needs when it runs, so `exact-tui --help` stays quick.
"""

from __future__ import annotations

from exact_tui.cli import admin, connection, demo, exports, operations, tenants
from exact_tui.cli.root import group
from exact_tui.cli.wiring import accept_db_anywhere

for _area in (exports, admin, connection, operations, demo, tenants):
    for _command in _area.COMMANDS:
        group.add_command(_command)
for _command in group.commands.values():
    if _command.name not in ("demo", "sandbox"):  # they never open the configured store
        accept_db_anywhere(_command)


def main() -> None:
    group(prog_name="exact-tui")


__all__ = ["group", "main"]
