"""Every numeric setting has a sane range: infinities, NaN, negatives and absurd values are
refused by name, never handed to the worker (an infinite safety delay stalls the settling of
lost answers for good)."""

from __future__ import annotations

from pathlib import Path

import pytest

from exact_tui.config import ConfigError, load_settings

BAD = ["inf", "-inf", "nan", "-1", "0", "1e12"]


@pytest.mark.parametrize("value", BAD)
@pytest.mark.parametrize(
    "variable",
    [
        "EXACT_TUI_EXPORT_LOOKUP_SAFETY_DELAY_SECONDS",
        "EXACT_TUI_EXPORT_BACKOFF_BASE_SECONDS",
        "EXACT_TUI_EXPORT_BACKOFF_CAP_SECONDS",
    ],
)
def test_an_unusable_number_is_refused_by_name(tmp_path: Path, variable: str, value: str) -> None:
    key = variable.removeprefix("EXACT_TUI_EXPORT_").lower()
    with pytest.raises(ConfigError, match=rf"export\.{key}"):
        load_settings(tmp_path / "absent.toml", environ={variable: value})


def test_an_unusable_number_in_the_file_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[export]\nlookup_safety_delay_seconds = inf\n")
    with pytest.raises(ConfigError, match=r"config.toml: export.lookup_safety_delay_seconds"):
        load_settings(path, environ={})


def test_a_backoff_cap_below_its_base_is_refused(tmp_path: Path) -> None:
    environ = {
        "EXACT_TUI_EXPORT_BACKOFF_BASE_SECONDS": "60",
        "EXACT_TUI_EXPORT_BACKOFF_CAP_SECONDS": "10",
    }
    with pytest.raises(ConfigError, match="backoff_cap_seconds"):
        load_settings(tmp_path / "absent.toml", environ=environ)


def test_sane_values_pass(tmp_path: Path) -> None:
    settings = load_settings(
        tmp_path / "absent.toml",
        environ={
            "EXACT_TUI_EXPORT_LOOKUP_SAFETY_DELAY_SECONDS": "45",
            "EXACT_TUI_EXPORT_BACKOFF_BASE_SECONDS": "2.5",
            "EXACT_TUI_EXPORT_BACKOFF_CAP_SECONDS": "600",
        },
    )
    assert settings.export.lookup_safety_delay_seconds == 45
    assert settings.export.backoff_base_seconds == 2.5
    assert settings.export.backoff_cap_seconds == 600


def test_the_settling_horizon_is_a_setting_with_a_range(tmp_path: Path) -> None:
    default = load_settings(tmp_path / "absent.toml", environ={})
    assert default.export.settle_horizon_seconds == 600
    for value in ("inf", "nan", "0", "1e9"):
        with pytest.raises(ConfigError, match="settle_horizon_seconds"):
            load_settings(
                tmp_path / "absent.toml",
                environ={"EXACT_TUI_EXPORT_SETTLE_HORIZON_SECONDS": value},
            )
    with pytest.raises(ConfigError, match=r"settle_horizon_seconds .* is below"):
        load_settings(
            tmp_path / "absent.toml",
            environ={
                "EXACT_TUI_EXPORT_SETTLE_HORIZON_SECONDS": "10",
                "EXACT_TUI_EXPORT_LOOKUP_SAFETY_DELAY_SECONDS": "30",
            },
        )


@pytest.mark.parametrize("value", BAD)
@pytest.mark.parametrize(
    "variable", ["EXACT_TUI_WORKER_HEARTBEAT_SECONDS", "EXACT_TUI_WORKER_LEASE_SECONDS"]
)
def test_an_unusable_worker_timing_is_refused_by_name(
    tmp_path: Path, variable: str, value: str
) -> None:
    key = variable.removeprefix("EXACT_TUI_WORKER_").lower()
    with pytest.raises(ConfigError, match=rf"worker\.{key}"):
        load_settings(tmp_path / "absent.toml", environ={variable: value})


def test_a_lease_shorter_than_three_heartbeats_is_refused(tmp_path: Path) -> None:
    environ = {"EXACT_TUI_WORKER_HEARTBEAT_SECONDS": "5", "EXACT_TUI_WORKER_LEASE_SECONDS": "10"}
    with pytest.raises(ConfigError, match=r"lease_seconds \(10\) must be at least three times"):
        load_settings(tmp_path / "absent.toml", environ=environ)


def test_the_worker_timing_reaches_the_worker(tmp_path: Path) -> None:
    from exact_tui.cli.wiring import worker_setup

    environ = {"EXACT_TUI_WORKER_HEARTBEAT_SECONDS": "2", "EXACT_TUI_WORKER_LEASE_SECONDS": "12"}
    options = worker_setup(load_settings(tmp_path / "absent.toml", environ=environ)).worker
    assert (options.heartbeat_seconds, options.lease_seconds) == (2, 12)
    defaults = worker_setup(load_settings(tmp_path / "absent.toml", environ={})).worker
    assert (defaults.heartbeat_seconds, defaults.lease_seconds) == (5, 30)
