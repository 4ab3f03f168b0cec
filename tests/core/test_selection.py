"""Selection (dbt conventions): `name`, `+name`, `name+`, `tag:`, `kind:`, unions; unknown → exit 2."""

from __future__ import annotations

import pytest

from assetbuild.definitions.loader import load_project
from assetbuild.errors import ProjectError
from assetbuild.selection import select

from .projects import BY_USER, PIPELINE, TOP, run, statuses


@pytest.fixture
def project(make_project):
    return load_project(make_project(PIPELINE))


@pytest.mark.parametrize(
    ("terms", "expected"),
    [
        ([], ["events", "clean", "by_user", "top_users", "user_count", "user_label"]),
        (["by_user"], ["by_user"]),
        (["+by_user"], ["events", "clean", "by_user"]),
        (["by_user+"], ["by_user", "top_users", "user_count", "user_label"]),
        (["+user_count+"], ["events", "clean", "by_user", "user_count", "user_label"]),
        (["tag:payments"], ["clean"]),
        (["kind:sql"], ["by_user", "top_users", "user_count", "user_label"]),
        (["kind:python"], ["clean"]),
        (["kind:source"], ["events"]),
        (["user_label", "tag:payments"], ["clean", "user_label"]),
        (["top_users,user_count"], ["top_users", "user_count"]),
        (
            ["user_count+", "+top_users"],
            ["events", "clean", "by_user", "top_users", "user_count", "user_label"],
        ),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_selection_terms(project, terms, expected):
    got = select(project, terms)
    assert got == [n for n in project.order if n in set(expected)]
    assert set(got) == set(expected)


@pytest.mark.parametrize(
    ("term", "hint"),
    [
        ("by_usr", "did you mean 'by_user'?"),
        ("+by_usr+", "did you mean 'by_user'?"),
        ("tag:payment", "did you mean 'payments'?"),
        ("kind:parquet", "source, python and sql"),
    ],
)
def test_unknown_selection_is_a_project_error(project, term, hint):
    with pytest.raises(ProjectError) as err:
        select(project, [term])
    assert err.value.exit_code == 2
    assert term in err.value.message
    assert hint in (err.value.hint or "")


def test_build_runs_only_the_selection(make_project):
    root = make_project(PIPELINE)
    run(root)
    (root / "assets/by_user.sql").write_text(BY_USER.replace("GROUP BY", "WHERE amount > 20 GROUP BY"))
    (root / "assets/top_users.sql").write_text(TOP.replace("100", "10"))
    result = run(root, select=["top_users"])
    assert statuses(result) == {"top_users": "built"}
    rest = run(root)
    assert statuses(rest)["by_user"] == "built" and statuses(rest)["top_users"] == "built"


def test_build_selection_pulls_in_never_built_upstream(make_project):
    root = make_project(PIPELINE)
    result = run(root, select=["top_users"])
    assert statuses(result) == {n: "built" for n in ("events", "clean", "by_user", "top_users")}


def test_cli_unknown_selection_exits_2_with_did_you_mean(make_project, run_cli):
    root = make_project(PIPELINE)
    for cmd in ("build", "plan"):
        r = run_cli(root, cmd, "tag:paymnts")
        assert r.code == 2, r
        assert "did you mean 'payments'?" in r.stderr
        assert "Traceback" not in r.stderr + r.stdout
    r = run_cli(root, "build", "user_cnt+", "--format", "json")
    assert r.code == 2, r
    assert r.json["hint"] == "did you mean 'user_count'?"
    assert not (root / ".assetbuild" / "objects").exists() or not any(
        (root / ".assetbuild" / "objects").rglob("*.parquet")
    )
