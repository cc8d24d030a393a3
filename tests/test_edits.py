"""Edit blocks read and applied strictly; writes confined to the repository, all or
nothing, undone byte for byte, and never half-applied after a kill between two writes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codeintel.agent.apply import (
    EditRejected,
    apply_changes,
    plan_changes,
    recover,
    resolve,
    undo,
)
from codeintel.agent.edit_blocks import BlockError, EditBlock, apply_block, parse_blocks
from codeintel.errors import EditRefused

ANSWER = """I will rename the helper.

```python
`pkg/util.py`
<<<<<<<   search
def helper(x):
    return x + 1
=====
def helper(x, step=1):
    return x + step
>>>>>>>>> REPLACE
```

pkg/new.py
<<<<<<< SEARCH
=======
VALUE = 3
>>>>>>> REPLACE
"""


def tree(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".codeintel" not in path.parts
    }


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


# -- reading blocks --------------------------------------------------------------------


def test_blocks_are_read_with_tolerant_markers() -> None:
    first, second = parse_blocks(ANSWER)
    assert first == EditBlock(
        "pkg/util.py",
        "def helper(x):\n    return x + 1\n",
        "def helper(x, step=1):\n    return x + step\n",
    )
    assert second == EditBlock("pkg/new.py", "", "VALUE = 3\n")
    assert parse_blocks("no blocks at all") == []


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("a.py\n<<<<<<< SEARCH\nx\n>>>>>>> REPLACE\n", "no '======='"),
        ("a.py\n<<<<<<< SEARCH\nx\n=======\ny\n", "no '>>>>>>> REPLACE'"),
        ("<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n", "no file path"),
        ("Here is the change:\n<<<<<<< SEARCH\nx\n=======\n>>>>>>> REPLACE", "no file path"),
    ],
)
def test_malformed_blocks_are_errors(answer: str, message: str) -> None:
    with pytest.raises(BlockError, match=message):
        parse_blocks(answer)


def test_a_search_must_match_exactly_once() -> None:
    text = "a = 1\nb = 2\na = 1\n"
    with pytest.raises(BlockError, match="occurs 2 times"):
        apply_block(text, EditBlock("f.py", "a = 1\n", "a = 3\n"))
    with pytest.raises(BlockError, match="not in the file"):
        apply_block(text, EditBlock("f.py", "c = 1\n", "c = 3\n"))
    assert apply_block(text, EditBlock("f.py", "b = 2\n", "b = 5\n")) == "a = 1\nb = 5\na = 1\n"


def test_a_search_matches_whole_lines_only() -> None:
    text = "self.max = 1\nx = 1\n"
    assert apply_block(text, EditBlock("f.py", "x = 1\n", "y = 3\n")) == "self.max = 1\ny = 3\n"
    with pytest.raises(BlockError, match="occurs 2 times"):  # overlapping occurrences
        apply_block("x\nx\nx\n", EditBlock("f.py", "x\nx\n", "y\n"))


def test_a_heading_underline_inside_search_is_not_the_divider() -> None:
    answer = "README.rst\n<<<<<<< SEARCH\nInstall\n=====\n=======\nSetup\n=====\n>>>>>>> REPLACE"
    [block] = parse_blocks(answer)
    assert (block.search, block.replace) == ("Install\n=====\n", "Setup\n=====\n")
    with pytest.raises(BlockError, match="more than one"):
        parse_blocks("a.py\n<<<<<<< SEARCH\nx\n=======\n=======\n>>>>>>> REPLACE")


def test_indentation_is_forgiven_and_the_files_kept() -> None:
    text = "class A:\n    def f(self):\n        return 1\n"
    block = EditBlock("f.py", "def f(self):\n    return 1\n", "def f(self):\n    return 2\n")
    assert apply_block(text, block) == "class A:\n    def f(self):\n        return 2\n"


def test_creating_and_missing_files() -> None:
    assert apply_block(None, EditBlock("n.py", "", "x = 1\n")) == "x = 1\n"
    with pytest.raises(BlockError, match="exists"):
        apply_block("x = 1\n", EditBlock("n.py", "", "y = 1\n"))
    with pytest.raises(BlockError, match="no such file"):
        apply_block(None, EditBlock("n.py", "x = 1\n", "y = 1\n"))


# -- where edits may go ------------------------------------------------------------------


def test_paths_that_leave_the_repository_are_refused(tmp_path: Path) -> None:
    root, outside = tmp_path / "repo", tmp_path / "outside"
    write(root, {"a.py": "x = 1\n", ".git/config": "[core]\n"})
    outside.mkdir()
    (root / "out").symlink_to(outside)
    (root / "link.py").symlink_to(outside / "f.py")
    for path, message in [
        ("../outside/f.py", "outside the repository"),
        (str(outside / "f.py"), "relative paths"),
        ("out/f.py", "outside the repository"),
        ("link.py", "outside the repository"),
        (".git/config", "inside .git/"),
        (".GIT/config", "inside .GIT/"),
        ("vendor/lib/.git/hooks/post-checkout", "inside .git/"),
        ("sub/../.codeintel/x", "inside .codeintel/"),
        ("", "relative paths"),
    ]:
        with pytest.raises(EditRefused, match=message):
            resolve(root, path)
    assert resolve(root, "pkg/../a.py") == (root / "a.py").resolve()


def test_one_bad_block_writes_nothing_and_says_each_failure(tmp_path: Path) -> None:
    write(tmp_path, {"a.py": "x = 1\n", "b.py": "y = 2\ny = 2\n", "data.bin": "ab\0cd"})
    before = tree(tmp_path)
    blocks = [
        EditBlock("a.py", "x = 1\n", "x = 10\n"),
        EditBlock("b.py", "y = 2\n", "y = 20\n"),
        EditBlock("data.bin", "ab", "xy"),
        EditBlock("../escape.py", "", "z\n"),
    ]
    with pytest.raises(EditRejected) as rejected:
        plan_changes(tmp_path, blocks)
    failures = rejected.value.failures
    assert len(failures) == 3
    assert "occurs 2 times" in failures[0] and "binary" in failures[1]
    assert "outside the repository" in failures[2]
    assert tree(tmp_path) == before


def test_crlf_files_keep_their_line_ends(tmp_path: Path) -> None:
    (tmp_path / "w.py").write_bytes(b"a = 1\r\nb = 2\r\n")
    (tmp_path / "m.py").write_bytes(b"a = 1\r\nb = 2\nc = 3\n")  # mixed: left as they are
    blocks = [EditBlock("w.py", "b = 2\n", "b = 3\n"), EditBlock("m.py", "c = 3\n", "c = 4\n")]
    apply_changes(tmp_path, plan_changes(tmp_path, blocks))
    assert (tmp_path / "w.py").read_bytes() == b"a = 1\r\nb = 3\r\n"
    assert (tmp_path / "m.py").read_bytes() == b"a = 1\r\nb = 2\nc = 4\n"


def test_a_failed_write_puts_back_what_was_written(tmp_path: Path) -> None:
    write(tmp_path, {"a.py": "x = 1\n", "b.py": "y = 1\n"})
    original = tree(tmp_path)
    blocks = [EditBlock("b.py", "y = 1\n", "y = 2\n"), EditBlock("a.py/new.py", "", "z\n")]
    with pytest.raises(OSError):  # a.py is a file: no folder can be made there
        apply_changes(tmp_path, plan_changes(tmp_path, blocks))
    assert tree(tmp_path) == original and recover(tmp_path) == []


def test_recovery_leaves_files_changed_by_hand_since(tmp_path: Path) -> None:
    write(tmp_path, {"a.py": "x = 1\n", "b.py": "y = 1\n"})
    died = subprocess.run([sys.executable, "-c", KILLED_BETWEEN_WRITES, str(tmp_path)])
    assert died.returncode == 9
    (tmp_path / "a.py").write_text("x = 42  # fixed by hand\n")
    with pytest.raises(EditRefused, match="a.py changed since and were left as they are"):
        recover(tmp_path)
    assert (tmp_path / "a.py").read_text() == "x = 42  # fixed by hand\n"
    assert recover(tmp_path) == []  # settled


# -- applying and undoing ----------------------------------------------------------------


def test_apply_then_undo_restores_bytes_and_modes(tmp_path: Path) -> None:
    write(tmp_path, {"pkg/util.py": "def helper(x):\n    return x + 1\n", "run.sh": "echo 1\n"})
    (tmp_path / "run.sh").chmod(0o755)
    original = tree(tmp_path)
    changes = plan_changes(
        tmp_path, [*parse_blocks(ANSWER), EditBlock("run.sh", "echo 1\n", "echo 2\n")]
    )
    apply_changes(tmp_path, changes)
    assert (tmp_path / "pkg/new.py").read_text() == "VALUE = 3\n"
    assert (tmp_path / "run.sh").read_text() == "echo 2\n"
    assert (tmp_path / "run.sh").stat().st_mode & 0o777 == 0o755
    second = plan_changes(tmp_path, [EditBlock("run.sh", "echo 2\n", "echo 3\n")])
    apply_changes(tmp_path, second)
    assert undo(tmp_path) == ["run.sh"]  # a stack: the latest first
    assert sorted(undo(tmp_path)) == ["pkg/new.py", "pkg/util.py", "run.sh"]
    assert tree(tmp_path) == original
    assert (tmp_path / "run.sh").stat().st_mode & 0o777 == 0o755
    with pytest.raises(EditRefused, match="nothing to undo"):
        undo(tmp_path)


def test_undo_refuses_when_the_files_changed_since(tmp_path: Path) -> None:
    write(tmp_path, {"a.py": "x = 1\n", "b.py": "y = 1\n"})
    apply_changes(
        tmp_path,
        plan_changes(
            tmp_path,
            [EditBlock("a.py", "x = 1\n", "x = 2\n"), EditBlock("b.py", "y = 1\n", "y = 2\n")],
        ),
    )
    (tmp_path / "b.py").write_text("y = 99\n")
    with pytest.raises(EditRefused, match=r"changed since \(b.py\)"):
        undo(tmp_path)
    assert (tmp_path / "a.py").read_text() == "x = 2\n"  # nothing restored


KILLED_BETWEEN_WRITES = """
import os, sys
from pathlib import Path
from codeintel.agent import apply
from codeintel.agent.edit_blocks import EditBlock

writes = apply._write_atomically
calls = []
def dying(path, data, mode=None):
    calls.append(path)
    if len(calls) == 3:  # the journal, the first file: stop before the second
        os._exit(9)
    writes(path, data, mode)
apply._write_atomically = dying
root = Path(sys.argv[1])
blocks = [EditBlock("a.py", "x = 1\\n", "x = 2\\n"), EditBlock("b.py", "y = 1\\n", "y = 2\\n")]
apply.apply_changes(root, apply.plan_changes(root, blocks))
"""


def test_a_kill_between_two_writes_is_rolled_back(tmp_path: Path) -> None:
    write(tmp_path, {"a.py": "x = 1\n", "b.py": "y = 1\n"})
    original = tree(tmp_path)
    died = subprocess.run([sys.executable, "-c", KILLED_BETWEEN_WRITES, str(tmp_path)])
    assert died.returncode == 9
    assert tree(tmp_path) == {"a.py": b"x = 2\n", "b.py": b"y = 1\n"}  # half: then recovered
    assert recover(tmp_path) == ["a.py"]  # b.py was never written
    assert tree(tmp_path) == original
    assert recover(tmp_path) == []
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    edits=st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 5), st.text("abc xyz\n", max_size=20)),
        min_size=1,
        max_size=6,
    ),
    creations=st.lists(st.text("pqr\n", min_size=1, max_size=10), max_size=2),
)
def test_random_edits_applied_then_undone_give_the_original_tree(
    tmp_path_factory: pytest.TempPathFactory,
    edits: list[tuple[int, int, str]],
    creations: list[str],
) -> None:
    root = tmp_path_factory.mktemp("tree")
    write(root, {f"m{f}.py": "".join(f"line {i} of {f}\n" for i in range(6)) for f in range(4)})
    original = tree(root)
    used: set[tuple[int, int]] = set()
    blocks = []
    for f, line, text in edits:
        if (f, line) in used:  # each line is edited once: its text is then gone
            continue
        used.add((f, line))
        blocks.append(EditBlock(f"m{f}.py", f"line {line} of {f}\n", text and f"{text}\n"))
    blocks += [EditBlock(f"new/n{i}.py", "", text) for i, text in enumerate(creations)]
    changes = plan_changes(root, blocks)
    apply_changes(root, changes)
    if changes:
        undo(root)
    assert tree(root) == original
