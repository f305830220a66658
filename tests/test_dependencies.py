"""pyproject.toml is the one list of dependencies; environment.yml must install the same set."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _environment_pip_list() -> list[str]:
    lines = (ROOT / "environment.yml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "- pip:")
    entries = []
    for line in lines[start + 1 :]:
        stripped = line.strip()
        if not stripped.startswith("- "):
            break
        entries.append(stripped[2:].strip())
    return entries


def test_environment_yml_installs_exactly_the_pyproject_dependencies():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared = sorted(pyproject["project"]["dependencies"])
    pip_list = _environment_pip_list()
    assert "-e ." in pip_list, "environment.yml must install the helpers package (-e .)"
    assert sorted(e for e in pip_list if e != "-e .") == declared


def test_ipywidgets_is_pinned_exactly():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pins = [d for d in pyproject["project"]["dependencies"] if d.startswith("ipywidgets")]
    assert len(pins) == 1 and "==" in pins[0] and "*" not in pins[0]


def test_every_dependency_is_pinned_to_a_major_version():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for dependency in pyproject["project"]["dependencies"]:
        assert "==" in dependency, f"{dependency} is not pinned"
