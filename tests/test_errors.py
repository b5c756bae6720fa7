"""Exit codes and the platform check: workshopkit refuses to start where it cannot run safely."""

from __future__ import annotations

import sys

import pytest

from workshopkit.errors import ExitCode, unsupported_platform


@pytest.mark.parametrize("platform", ["linux", "darwin"])
def test_linux_and_macos_are_supported(platform: str) -> None:
    assert unsupported_platform(platform) is None


@pytest.mark.parametrize("platform", ["win32", "cygwin", "emscripten"])
def test_other_platforms_are_named_in_a_clear_refusal(platform: str) -> None:
    message = unsupported_platform(platform)
    assert message is not None
    assert "Linux and macOS" in message and repr(platform) in message


def test_the_command_refuses_to_start_on_windows(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from workshopkit.cli import main

    monkeypatch.setattr(sys, "platform", "win32")
    with pytest.raises(SystemExit) as exited:
        main(["check", "."])
    assert exited.value.code == ExitCode.INFRASTRUCTURE
    err = capsys.readouterr().err
    assert err.startswith("error: workshopkit runs on Linux and macOS, not on 'win32'")
    assert "Traceback" not in err
