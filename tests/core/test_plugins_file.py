"""plugins.toml: strict validation with file, line and reason; edits keep the operator's comments."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigError
from core.plugins_file import load_plugins_file, parse_plugins_file, set_plugin_enabled

REPO_FILE = Path(__file__).resolve().parents[2] / "plugins.toml"


def test_shipped_example_is_valid() -> None:
    parsed = load_plugins_file(REPO_FILE)
    assert parsed.plugins["config"].enabled


def test_missing_file_means_defaults(tmp_path: Path) -> None:
    parsed = load_plugins_file(tmp_path / "absent.toml")
    assert parsed.plugins == {} and parsed.web.port == 8787


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        (
            '[bot]\nprefix = "!"\n\n[plugins.mileage]\nenabled = true\nenabeld = false\n',
            6,
            "unknown key 'plugins.mileage.enabeld'",
        ),
        ("[web]\nport = 99999\n", 2, "web.port: Input should be less than or equal to 65535"),
        ('[plugins.dailies]\nenabled = "yes"\n', 2, "plugins.dailies.enabled: Input should be a valid boolean"),
        ('[bot]\nowners = ["me"]\n', 2, "bot.owners.0: Input should be a valid integer"),
        ("\n\n[plugins.Bad-Name]\n", 3, "must be lower-case letters"),
        ("[bot\nprefix = 1\n", 1, "invalid TOML"),
        ("[colour]\nred = 1\n", 1, "unknown key 'colour'"),
    ],
)
def test_bad_file_names_line_and_reason(text: str, line: int, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_plugins_file(text, "conf/plugins.toml")

    assert caught.value.line == line
    assert reason in str(caught.value)
    assert str(caught.value).startswith(f"conf/plugins.toml:{line}: ")


def test_enable_and_disable_keep_comments(tmp_path: Path) -> None:
    path = tmp_path / "plugins.toml"
    path.write_text("# operator notes stay here\n[plugins.config]\nenabled = true  # on for everyone\n")

    set_plugin_enabled(path, "config", False)
    set_plugin_enabled(path, "extra", True)

    text = path.read_text()
    assert "# operator notes stay here" in text and "# on for everyone" in text
    parsed = load_plugins_file(path)
    assert parsed.plugins["config"].enabled is False and parsed.plugins["extra"].enabled is True


def test_editing_a_broken_file_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "plugins.toml"
    broken = "[plugins.config]\nenabled = maybe\n"
    path.write_text(broken)

    with pytest.raises(ConfigError, match="invalid TOML"):
        set_plugin_enabled(path, "config", False)

    assert path.read_text() == broken
