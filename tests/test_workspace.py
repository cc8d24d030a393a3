"""``codeintel.Workspace``, the API every front door calls: real files, a real index."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from codeintel import Workspace
from codeintel.cli.main import main
from codeintel.errors import ConfigError, EmptyQuestion, NotIndexed
from codeintel.indexer.lock import writer_lock
from tests.conftest import git_init, write_files

TREE = {
    "app/billing.py": "def invoice_total(lines):\n    return sum(line.cents for line in lines)\n",
    "app/users.py": "class UserStore:\n    def rename_user(self, uid, name):\n        pass\n",
}


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    write_files(tmp_path, TREE)
    opened = Workspace.open(tmp_path, embed_model="hashing:64")
    opened.build()
    return opened


def test_results_are_the_cli_json(workspace: Workspace) -> None:
    found = workspace.search("invoice total", k=3)
    assert found.results[0].chunk.path == "app/billing.py"
    cli = CliRunner().invoke(
        main,
        ["search", "invoice total", "--k", "3", "--path", str(workspace.root), "--json"],
        env={"CODEINTEL_EMBED_MODEL": "hashing:64"},
    )
    assert json.loads(cli.stdout) == found.to_json()
    assert workspace.status().to_json()["chunks"] == workspace.status().chunks == 2
    packed = workspace.context("invoice total", budget=300)
    assert 0 < packed.tokens <= 300 and packed.retrieved >= 1


def test_a_build_elsewhere_is_seen_by_a_long_lived_workspace(workspace: Workspace) -> None:
    assert not workspace.search("shipping label", k=5).results[0].chunk.path.startswith("app/ship")
    (workspace.root / "app" / "shipping.py").write_text("def shipping_label(order):\n    pass\n")
    Workspace.open(workspace.root, embed_model="hashing:64").build()
    assert workspace.search("shipping label", k=5).results[0].chunk.path == "app/shipping.py"


def test_opened_from_a_subfolder(workspace: Workspace) -> None:
    inner = Workspace.open(workspace.root / "app", embed_model="hashing:64")
    assert (inner.root, inner.folder) == (workspace.root, "app")
    assert all(r.chunk.path.startswith("app/") for r in inner.search("user", within="app").results)


def test_bad_calls_are_one_line_errors(
    workspace: Workspace, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with pytest.raises(EmptyQuestion):
        workspace.search("  ")
    with pytest.raises(ConfigError, match="unknown setting override 'nonsense'"):
        Workspace.open(workspace.root, nonsense=1)
    with pytest.raises(NotIndexed, match="or any folder above it"):
        Workspace.open(tmp_path_factory.mktemp("elsewhere")).status()


def test_the_index_is_looked_for_only_up_to_the_git_top(tmp_path: Path) -> None:
    """An index above a git work tree (or a bare .codeintel folder) is not the tree's."""
    outer = Workspace.open(tmp_path, embed_model="hashing:64")
    write_files(tmp_path, {"notes.md": "# Notes\n"})
    outer.build()
    project = tmp_path / "project"
    write_files(project, {**TREE, "sub/.codeintel/write.lock": "", "sub/x.py": "X = 1\n"})
    git_init(project)
    assert Workspace.open(project / "app").root == project / "app"
    assert Workspace.open(project / "sub").root == project / "sub"
    Workspace.open(project, embed_model="hashing:64").build()
    assert Workspace.open(project / "sub").root == project


def test_here_in_a_dot_folder(tmp_path: Path) -> None:
    write_files(tmp_path, {".github/helper.py": "def workflow_helper():\n    pass\n", **TREE})
    Workspace.open(tmp_path, embed_model="hashing:64").build()
    inner = Workspace.open(tmp_path / ".github", embed_model="hashing:64")
    found = inner.search("workflow helper", within=inner.folder).results
    assert [r.chunk.path for r in found] == [".github/helper.py"]


def test_threads_share_one_workspace(workspace: Workspace) -> None:
    paths: list[str] = []

    def ask() -> None:
        paths.append(workspace.search("rename user", k=1).results[0].chunk.path)

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert paths == ["app/users.py"] * 6


def test_changed_files_are_searchable_without_a_build(workspace: Workspace) -> None:
    notes: list[str] = []
    reader = Workspace.open(workspace.root, notes=notes.append, embed_model="hashing:64")
    reader.search("invoice total")
    billing = workspace.root / "app" / "billing.py"
    billing.write_text(billing.read_text() + "\n\ndef refund_invoice(invoice):\n    pass\n")
    assert reader.refresh() and not notes
    assert reader.search("refund invoice", k=1).results[0].chunk.symbol == "refund_invoice"

    billing.write_text(billing.read_text() + "\n\ndef void_invoice(invoice):\n    pass\n")
    with writer_lock(workspace.repository.write_lock, timeout=0):
        assert not reader.refresh()
    assert notes and "another indexer" in notes[0]
