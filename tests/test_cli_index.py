"""`codeintel index build|status` the way users run them: real files, real LanceDB."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from codeintel.cli.main import main
from tests.conftest import write_files

SAMPLE = {
    "app/users.py": (
        "class UserStore:\n"
        '    """Keeps users."""\n\n'
        "    def get_user_name(self, user_id):\n"
        "        return self.names[user_id]\n"
    ),
    "web/api.js": "export function fetchUser(id) {\n  return fetch(`/users/${id}`);\n}\n",
    "README.md": "# Demo\n\nA tiny repository.\n\n## Usage\n\nRun it.\n",
}


def test_build_then_status_json(tmp_path: Path) -> None:
    write_files(tmp_path, SAMPLE)
    runner = CliRunner()
    result = runner.invoke(
        main, ["index", "build", str(tmp_path), "--json", "--model", "hashing:64"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["files"] == 3
    assert report["embedded"] == report["chunks"] > 0
    assert set(report["languages"]) == {"python", "javascript", "markdown"}
    status = json.loads(runner.invoke(main, ["index", "status", str(tmp_path), "--json"]).stdout)
    assert status["chunks"] == report["chunks"]
    assert status["pending"] == 0
    assert status["embedder"] == "hashing:64"
    assert (tmp_path / ".codeintel" / ".gitignore").read_text() == "*\n"


def test_status_without_index_is_one_line_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["index", "status", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0
    assert "codeintel index build" in result.stderr


def test_dry_run_lists_the_plan_and_writes_nothing(tmp_path: Path) -> None:
    write_files(tmp_path, {**SAMPLE, "package-lock.json": "{}\n"})
    runner = CliRunner()
    result = runner.invoke(main, ["index", "build", str(tmp_path), "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert sorted(plan["index"]) == sorted(SAMPLE)
    assert plan["skipped"] == [{"path": "package-lock.json", "reason": "lockfile"}]
    assert not (tmp_path / ".codeintel").exists()
    runner.invoke(main, ["index", "build", str(tmp_path), "--model", "hashing:64"])
    (tmp_path / "web" / "api.js").unlink()
    again = json.loads(
        runner.invoke(main, ["index", "build", str(tmp_path), "--dry-run", "--json"]).stdout
    )
    assert again["index"] == [] and again["delete"] == ["web/api.js"]
    assert again["unchanged"] == 2
