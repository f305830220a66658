"""`make lab` opens a working copy of the notebooks, never the committed ones; `make reset`
renews it and keeps the old one; the lab's configuration culls idle kernels."""

from __future__ import annotations

from pathlib import Path

from traitlets.config.loader import PyFileConfigLoader

from tools import working_copy

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))


def test_the_first_make_lab_copies_the_notebooks_the_contents_page_and_the_readme(tmp_path):
    folder = tmp_path / "my-notebooks"
    said = working_copy.ensure(folder)
    assert "made from notebooks/" in said
    assert sorted(p.name for p in folder.glob("*.ipynb")) == COMMITTED
    for name in COMMITTED:
        assert (folder / name).read_bytes() == (ROOT / "notebooks" / name).read_bytes()
    contents = (folder / "contents.md").read_text()
    assert "](README.md)" in contents and "../README.md" not in contents
    readme = (folder / "README.md").read_text()
    assert "](00_welcome_and_setup.ipynb)" in readme and "](notebooks/" not in readme
    assert (folder / "docs" / "facilitator.md").exists()


def test_your_work_is_never_overwritten_and_new_notebooks_are_added(tmp_path):
    folder = tmp_path / "my-notebooks"
    working_copy.ensure(folder)
    mine = folder / COMMITTED[1]
    mine.write_text("my work")
    (folder / COMMITTED[2]).unlink()  # as if notebooks/ gained it after a git pull
    said = working_copy.ensure(folder)
    assert mine.read_text() == "my work"
    assert (folder / COMMITTED[2]).exists() and COMMITTED[2] in said


def test_reset_keeps_the_old_copy_aside(tmp_path):
    folder = tmp_path / "my-notebooks"
    working_copy.ensure(folder)
    (folder / COMMITTED[0]).write_text("my work")
    said = working_copy.reset(folder)
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("my-notebooks.before-reset-")]
    assert len(aside) == 1 and (aside[0] / COMMITTED[0]).read_text() == "my work"
    assert (folder / COMMITTED[0]).read_bytes() == (ROOT / "notebooks" / COMMITTED[0]).read_bytes()
    assert aside[0].name in said


def test_the_working_copy_is_ignored_by_git():
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert "/my-notebooks/" in ignored and "/my-notebooks.before-reset-*/" in ignored


def test_the_lab_culls_idle_kernels_and_loads_its_css():
    config = PyFileConfigLoader("jupyter_server_config.py", str(ROOT / "lab")).load_config()
    culling = config.MappingKernelManager
    assert culling.cull_idle_timeout > 0 and culling.cull_connected and culling.cull_interval
    assert config.LabApp.custom_css
    custom = Path(config.ServerApp.tornado_settings["static_custom_path"][0])
    assert "wb-widget" in (custom / "custom.css").read_text()
