"""pyproject.toml is the one list of dependencies; environment.yml must install the same set."""

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
LINUX_ONLY = "awslambdaric==4.*; sys_platform == 'linux'"


def _pyproject_dependencies() -> list[str]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]


def _environment_pip_list() -> list[str]:
    """The entries of environment.yml's pip: list, as pip reads them (YAML quotes removed)."""
    lines = (ROOT / "environment.yml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "- pip:")
    entries = []
    for line in lines[start + 1 :]:
        stripped = line.strip()
        if not stripped.startswith("- "):
            break
        entry = stripped[2:].strip()
        if len(entry) >= 2 and entry[0] == entry[-1] and entry[0] in "'\"":
            entry = entry[1:-1]
        entries.append(entry)
    return entries


def _requirements_for(sys_platform: str, platform_system: str) -> set[str]:
    """The names of the dependencies pip installs on that platform."""
    environment = {"sys_platform": sys_platform, "platform_system": platform_system}
    names = set()
    for dependency in _pyproject_dependencies():
        requirement = Requirement(dependency)
        if requirement.marker is None or requirement.marker.evaluate(environment):
            names.add(requirement.name)
    return names


def test_environment_yml_installs_exactly_the_pyproject_dependencies():
    pip_list = _environment_pip_list()
    assert "-e ." in pip_list, "environment.yml must install the helpers package (-e .)"
    mirrored = [e for e in pip_list if e != "-e ."]
    # the same strings, markers included, so a learner reading either file sees the same line
    assert sorted(mirrored) == sorted(_pyproject_dependencies())
    # and the same requirements as pip understands them
    assert sorted(str(Requirement(e)) for e in mirrored) == sorted(
        str(Requirement(d)) for d in _pyproject_dependencies()
    )


def test_awslambdaric_is_installed_on_linux_only_in_both_files():
    assert LINUX_ONLY in _pyproject_dependencies()
    assert LINUX_ONLY in _environment_pip_list()


@pytest.mark.parametrize(
    ("sys_platform", "platform_system"), [("darwin", "Darwin"), ("linux", "Linux")]
)
def test_only_awslambdaric_depends_on_the_platform(sys_platform, platform_system):
    everything = {Requirement(d).name for d in _pyproject_dependencies()}
    installed = _requirements_for(sys_platform, platform_system)
    if sys_platform == "linux":
        assert installed == everything
    else:
        assert installed == everything - {"awslambdaric"}


def test_ipywidgets_is_pinned_exactly():
    pins = [d for d in _pyproject_dependencies() if d.startswith("ipywidgets")]
    assert len(pins) == 1 and "==" in pins[0] and "*" not in pins[0]


def test_every_dependency_is_pinned_to_a_major_version():
    for dependency in _pyproject_dependencies():
        assert "==" in str(Requirement(dependency).specifier), f"{dependency} is not pinned"
