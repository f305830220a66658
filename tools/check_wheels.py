"""Does every dependency install from a wheel on each platform learners use?

``make check-wheels``: for macOS arm64, macOS x86_64 and Linux (manylinux) x86_64 and aarch64,
each with Python 3.11 and 3.12, evaluate pyproject.toml's dependency markers for that platform
and ask pip to download the result, dependencies included, as wheels only::

    pip download --only-binary=:all: --implementation cp --python-version 3.11 \\
        --platform macosx_11_0_arm64 --dest TMPDIR REQUIREMENT...

Nothing is installed. A platform passes when pip finds a wheel for everything; a failure names
the package without a wheel and what pulled it in.

pip evaluates the markers of *transitive* dependencies for the machine it runs on, not for
``--platform`` (on Linux it skips ipykernel's ``appnope; platform_system == 'Darwin'``). So after
each download this script reads the downloaded wheels' metadata, evaluates their markers for the
target platform and downloads whatever pip skipped, until nothing is missing. It also lists the
packages whose version differs from the one Linux x86_64 gets: with --only-binary pip falls back
to an older version when the newest has no wheel for the platform, where a plain ``pip install``
would build the newest from source (which is why ``make setup`` passes --prefer-binary).

Needs network access to PyPI; the downloads go to temporary folders (pip's cache keeps them).
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
import tempfile
import time
import tomllib
import zipfile
from dataclasses import dataclass, field
from email.parser import HeaderParser
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PYTHON_VERSIONS = ("3.11", "3.12")
# glibc 2.28 (Debian 10, RHEL 8, Ubuntu 20.04 has 2.31): a system this old accepts wheels
# tagged manylinux_2_28 and every older manylinux tag.
MANYLINUX_GLIBC_MINOR = 28


def manylinux_tags(arch: str) -> list[str]:
    """Every manylinux tag a glibc-2.28 system accepts, newest first (pip doesn't expand them)."""
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(MANYLINUX_GLIBC_MINOR, 16, -1)]
    tags.append(f"manylinux2014_{arch}")  # = manylinux_2_17; pip adds manylinux2010/1 for x86
    return tags


@dataclass(frozen=True)
class Platform:
    name: str
    # pip expands a macosx_X_Y tag itself to every older macOS version and universal2
    tags: tuple[str, ...]
    environment: dict[str, str] = field(hash=False)

    def markers(self, python_version: str) -> dict[str, str]:
        """The PEP 508 marker environment of CPython ``python_version`` on this platform."""
        return {
            "implementation_name": "cpython",
            "implementation_version": f"{python_version}.0",
            "os_name": "posix",
            "platform_python_implementation": "CPython",
            "platform_release": "",
            "platform_version": "",
            "python_full_version": f"{python_version}.0",
            "python_version": python_version,
            **self.environment,
        }


def _macos(machine: str) -> dict[str, str]:
    return {"sys_platform": "darwin", "platform_system": "Darwin", "platform_machine": machine}


def _linux(machine: str) -> dict[str, str]:
    return {"sys_platform": "linux", "platform_system": "Linux", "platform_machine": machine}


PLATFORMS = (
    # macOS 11 is the oldest macOS on Apple silicon
    Platform("macOS arm64", ("macosx_11_0_arm64",), _macos("arm64")),
    # macOS 10.15 (Catalina), the oldest an Intel Mac still gets current wheels for
    Platform("macOS x86_64", ("macosx_10_15_x86_64",), _macos("x86_64")),
    Platform("Linux x86_64", tuple(manylinux_tags("x86_64")), _linux("x86_64")),
    Platform("Linux aarch64", tuple(manylinux_tags("aarch64")), _linux("aarch64")),
)
REFERENCE = "Linux x86_64"


@dataclass
class Outcome:
    platform: Platform
    python_version: str
    ok: bool
    seconds: float
    versions: dict[str, str] = field(default_factory=dict)
    fetched_for_target: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def project_requirements() -> list[Requirement]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return [Requirement(d) for d in pyproject["project"]["dependencies"]]


def without_marker(requirement: Requirement) -> str:
    """``name[extras]specifier``: the marker is evaluated here, for the target, not by pip."""
    extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
    return f"{requirement.name}{extras}{requirement.specifier}"


def applies(requirement: Requirement, markers: dict[str, str], extras: set[str]) -> bool:
    if requirement.marker is None:
        return True
    return any(requirement.marker.evaluate({**markers, "extra": e}) for e in {"", *extras})


def pip_command(platform: Platform, python_version: str, dest: str, wanted: list[str]):
    command = [sys.executable, "-m", "pip", "download", "--only-binary=:all:"]
    command += ["--implementation", "cp", "--python-version", python_version]
    for tag in platform.tags:
        command += ["--platform", tag]
    command += ["--dest", dest, "--progress-bar", "off", "--disable-pip-version-check"]
    return command + ["--no-input", *wanted]


def shown(command: list[str]) -> str:
    """The command as a learner would type it (the manylinux tag list shortened)."""
    platforms = [command[i + 1] for i, arg in enumerate(command) if arg == "--platform"]
    text = shlex.join(["pip", *command[3:]])
    if len(platforms) > 2:
        rest = " ".join(f"--platform {tag}" for tag in platforms[1:])
        text = text.replace(" " + rest, f" … ({len(platforms) - 1} older manylinux tags)")
    return text


def downloaded(dest: Path) -> dict[str, tuple[str, list[str]]]:
    """{name: (version, Requires-Dist lines)} of every wheel in ``dest``."""
    wheels = {}
    for wheel in dest.glob("*.whl"):
        name, version, _, _ = parse_wheel_filename(wheel.name)
        with zipfile.ZipFile(wheel) as archive:
            metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
            headers = HeaderParser().parsestr(archive.read(metadata).decode("utf-8", "replace"))
        wheels[canonicalize_name(name)] = (str(version), headers.get_all("Requires-Dist") or [])
    return wheels


def skipped_by_pip(
    wheels: dict[str, tuple[str, list[str]]], top: list[Requirement], markers: dict[str, str]
) -> list[Requirement]:
    """Requirements the target platform needs that aren't among the downloaded wheels."""
    missing, seen, queue = [], set(), list(top)
    while queue:
        requirement = queue.pop()
        name = canonicalize_name(requirement.name)
        key = (name, frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        if name not in wheels:
            missing.append(requirement)
            continue
        for line in wheels[name][1]:
            dependency = Requirement(line)
            if applies(dependency, markers, set(requirement.extras)):
                queue.append(dependency)
    return missing


def explain_failure(output: str) -> list[str]:
    """The packages pip found no wheel for, and what asked for them."""
    problems = []
    for name in dict.fromkeys(re.findall(r"No matching distribution found for (\S+)", output)):
        bare = re.split(r"[<>=!~\[;]", name)[0]
        parents = re.findall(
            rf"Collecting {re.escape(bare)}\S* \(from ([^)]+)\)", output, flags=re.IGNORECASE
        )
        versions = re.search(
            rf"requirement {re.escape(name)}(?: \(from ([^)]*)\))? \(from versions: ([^)]*)\)",
            output,
            re.IGNORECASE,
        )
        if versions and versions.group(1):
            parents.append(versions.group(1))
        text = f"no wheel for {name}"
        if parents:
            text += f" (needed by {parents[-1]})"
        if versions:
            text += f"; versions with a wheel here: {versions.group(2) or 'none'}"
        problems.append(text)
    if not problems:
        errors = [line for line in output.splitlines() if line.startswith("ERROR")]
        problems = errors[-5:] or output.strip().splitlines()[-5:]
    return problems


def check(platform: Platform, python_version: str, verbose: bool) -> Outcome:
    markers = platform.markers(python_version)
    top = [r for r in project_requirements() if applies(r, markers, set())]
    started = time.monotonic()
    outcome = Outcome(platform, python_version, ok=True, seconds=0.0)
    with tempfile.TemporaryDirectory(prefix="check-wheels-") as dest:
        wanted = [without_marker(r) for r in top]
        for _ in range(5):
            command = pip_command(platform, python_version, dest, wanted)
            if verbose:
                print("    $", shown(command), flush=True)
            run = subprocess.run(command, capture_output=True, text=True)
            if run.returncode != 0:
                outcome.ok = False
                outcome.problems = explain_failure(run.stdout + run.stderr)
                if verbose:
                    print(run.stdout + run.stderr)
                break
            wheels = downloaded(Path(dest))
            missing = skipped_by_pip(wheels, top, markers)
            if not missing:
                outcome.versions = {name: version for name, (version, _) in wheels.items()}
                break
            wanted = [without_marker(r) for r in missing]
            outcome.fetched_for_target += [r.name for r in missing]
        else:
            outcome.ok = False
            outcome.problems = [f"still missing after 5 rounds: {', '.join(wanted)}"]
    outcome.seconds = time.monotonic() - started
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--platform", action="append", choices=[p.name for p in PLATFORMS], help="only these"
    )
    parser.add_argument("--python", action="append", choices=PYTHON_VERSIONS, help="only these")
    parser.add_argument("--verbose", action="store_true", help="show pip's commands and output")
    args = parser.parse_args(argv)
    platforms = [p for p in PLATFORMS if not args.platform or p.name in args.platform]
    pythons = args.python or list(PYTHON_VERSIONS)

    print("Does every dependency install from a wheel? (pip download --only-binary=:all:)")
    example = pip_command(platforms[0], pythons[0], "TMPDIR", ["..."])
    print(f"  for example: {shown(example)}\n", flush=True)
    started = time.monotonic()
    outcomes = []
    for platform in platforms:
        for python_version in pythons:
            outcome = check(platform, python_version, args.verbose)
            outcomes.append(outcome)
            verdict = "PASS" if outcome.ok else "FAIL"
            label = f"{platform.name} ({platform.tags[0]}), Python {python_version}"
            problems = "; ".join(outcome.problems)
            detail = f"{len(outcome.versions)} wheels" if outcome.ok else problems
            print(f"  {verdict}  {label}: {detail} [{outcome.seconds:.0f} s]", flush=True)
            if outcome.fetched_for_target:
                names = ", ".join(sorted(set(outcome.fetched_for_target)))
                print(f"        (needed here only, fetched after pip skipped them: {names})")

    reference = {o.python_version: o.versions for o in outcomes if o.platform.name == REFERENCE}
    for outcome in outcomes:
        base = reference.get(outcome.python_version)
        if not outcome.ok or not base or outcome.platform.name == REFERENCE:
            continue
        differs = [
            f"{name} {version} (Linux x86_64: {base[name]})"
            for name, version in sorted(outcome.versions.items())
            if name in base and Version(version) < Version(base[name])
        ]
        if differs:
            print(
                f"  note: {outcome.platform.name}, Python {outcome.python_version} gets "
                f"older versions, the newest having no wheel there: {', '.join(differs)}.\n"
                "        A plain `pip install` would pick the newest and build it from source;"
                " `make setup` passes --prefer-binary so it takes these wheels."
            )

    failed = [o for o in outcomes if not o.ok]
    elapsed = time.monotonic() - started
    print(
        f"\n{len(outcomes) - len(failed)} of {len(outcomes)} platform/Python pairs pass "
        f"({elapsed:.0f} s)."
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
