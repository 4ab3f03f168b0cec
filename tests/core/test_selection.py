"""Selection (dbt's syntax): names, tag:/kind:, graph operators with depth, @, space = union,
comma = intersection, exclude; a term matching nothing or malformed → exit 2."""

from __future__ import annotations

import pytest

from assetbuild.definitions.loader import load_project
from assetbuild.definitions.selection import select
from assetbuild.errors import ProjectError

from .projects import BY_USER, PIPELINE, TOML, TOP, run, statuses

ALL = ["events", "clean", "by_user", "top_users", "user_count", "user_label"]

# PIPELINE plus a tagged source and an asset with two parents (where `@` differs from `+x+`):
#   events (source; payments, raw) -> clean (python; payments) -> by_user -> top_users -> mix
#                                                                        -> user_count -> user_label
#                                                                                      -> mix
WIDE = {
    **PIPELINE,
    "assetbuild.toml": TOML + 'tags = ["payments", "raw"]\n',
    "assets/mix.sql": "SELECT t.user_id, c.users FROM top_users t CROSS JOIN user_count c\n",
}


@pytest.fixture
def project(make_project):
    return load_project(make_project(PIPELINE))


@pytest.fixture
def wide(make_project):
    return load_project(make_project(WIDE))


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
        (["top_users user_count"], ["top_users", "user_count"]),
        (["  top_users   user_count+  "], ["top_users", "user_count", "user_label"]),
        (["clean+,kind:sql"], ["by_user", "top_users", "user_count", "user_label"]),
        (["+user_label,+top_users"], ["events", "clean", "by_user"]),
        (["by_user+,+user_label"], ["by_user", "user_count", "user_label"]),
        (["1+by_user"], ["clean", "by_user"]),
        (["2+top_users"], ["clean", "by_user", "top_users"]),
        (["0+top_users"], ["top_users"]),
        (["99+top_users"], ["events", "clean", "by_user", "top_users"]),
        (["by_user+1"], ["by_user", "top_users", "user_count"]),
        (["clean+2"], ["clean", "by_user", "top_users", "user_count"]),
        (["1+user_count+1"], ["by_user", "user_count", "user_label"]),
        (["+user_count+1"], ["events", "clean", "by_user", "user_count", "user_label"]),
        (["+kind:python"], ["events", "clean"]),
        (["tag:payments+1"], ["clean", "by_user"]),
        (["+tag:payments+"], ALL),
        (["@user_count"], ["events", "clean", "by_user", "user_count", "user_label"]),
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
        ("kind:pyhton", "did you mean 'python'?"),
        ("2+tag:payment", "did you mean 'payments'?"),
        ("@tag:paymnt", "did you mean 'payments'?"),
        ("+kind:pyhton+", "did you mean 'python'?"),
        ("+tag:payment", "did you mean 'payments'?"),
        ("tags:payments", "did you mean 'tag'?"),
    ],
)
def test_unknown_selection_is_a_project_error(project, term, hint):
    with pytest.raises(ProjectError) as err:
        select(project, [term])
    assert err.value.exit_code == 2
    assert term in err.value.message
    assert hint in (err.value.hint or "")


@pytest.mark.parametrize(
    ("terms", "expected"),
    [
        (["tag:payments,kind:python"], ["clean"]),
        (["tag:payments,tag:raw"], ["events"]),
        (["tag:payments kind:python"], ["events", "clean"]),
        (["@top_users"], ["events", "clean", "by_user", "top_users", "user_count", "mix"]),
        (["+top_users+1"], ["events", "clean", "by_user", "top_users", "mix"]),
        (["@3+top_users"], ["events", "clean", "by_user", "top_users", "user_count", "mix"]),
        (["@user_label"], ["events", "clean", "by_user", "user_count", "user_label"]),
        (["1+mix"], ["top_users", "user_count", "mix"]),
        (["2+mix"], ["by_user", "top_users", "user_count", "mix"]),
        (["@tag:raw,kind:sql"], ["by_user", "top_users", "user_count", "user_label", "mix"]),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_intersection_and_at_operator(wide, terms, expected):
    got = select(wide, terms)
    assert got == [n for n in wide.order if n in set(expected)]
    assert set(got) == set(expected)


@pytest.mark.parametrize(
    ("terms", "exclude", "expected"),
    [
        ([], ["user_count+"], ["events", "clean", "by_user", "top_users"]),
        (["by_user+"], ["tag:payments", "user_label"], ["by_user", "top_users", "user_count"]),
        (["by_user+"], ["user_label top_users"], ["by_user", "user_count"]),
        ([], ["kind:sql,by_user+1"], ["events", "clean", "user_label"]),
        ([], ["+by_user"], ["top_users", "user_count", "user_label"]),
        (["+top_users"], ["1+by_user"], ["events", "top_users"]),
        (["top_users"], ["+top_users"], []),
        (["user_label"], ["top_users"], ["user_label"]),
    ],
)
def test_exclude_removes_what_it_matches(project, terms, exclude, expected):
    got = select(project, terms, exclude=exclude)
    assert got == [n for n in project.order if n in set(expected)]


def test_exclude_that_matches_nothing_is_a_project_error(project):
    with pytest.raises(ProjectError) as err:
        select(project, ["by_user+"], exclude=["user_cnt"])
    assert err.value.exit_code == 2
    assert "exclude 'user_cnt'" in err.value.message
    assert err.value.hint == "did you mean 'user_count'?"


def test_intersection_part_that_matches_nothing_names_the_part_and_the_term(project):
    with pytest.raises(ProjectError) as err:
        select(project, ["kind:sql,by_usr+"])
    assert "'by_usr+'" in err.value.message and "'kind:sql,by_usr+'" in err.value.message
    assert err.value.hint == "did you mean 'by_user'?"


def test_empty_intersection_is_a_project_error(project):
    with pytest.raises(ProjectError) as err:
        select(project, ["top_users,user_count"])
    assert err.value.exit_code == 2
    assert "'top_users,user_count' matches no asset" in err.value.message
    assert "a comma means 'and'" in (err.value.hint or "")


@pytest.mark.parametrize(
    "term",
    ["x+by_user", "by_user+x", "by_user++", "++by_user", "2+", "+", "@", "by@user", "tag:", ":by_user", ","],
)
def test_malformed_term_is_a_project_error_listing_the_forms(project, term):
    with pytest.raises(ProjectError) as err:
        select(project, [term])
    assert err.value.exit_code == 2
    assert f"'{term}'" in err.value.message and "malformed" in err.value.message
    assert "2+name" in (err.value.hint or "") and "name+1" in (err.value.hint or "")


def test_at_with_a_trailing_plus_is_malformed(project):
    with pytest.raises(ProjectError) as err:
        select(project, ["@by_user+"])
    assert "'@by_user+'" in err.value.message and "'@'" in err.value.message


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


def test_cli_exclude_applies_to_build_plan_and_check(make_project, run_cli):
    root = make_project(PIPELINE)
    r = run_cli(root, "build", "--exclude", "user_count+", "--format", "json")
    assert r.code == 0, r
    assert {a["name"]: a["status"] for a in r.json["assets"]} == {
        n: "built" for n in ("events", "clean", "by_user", "top_users")
    }
    r = run_cli(
        root, "plan", "by_user+", "--exclude", "top_users", "--exclude", "user_label", "--format", "json"
    )
    assert r.code == 0, r
    assert [a["name"] for a in r.json["assets"]] == ["by_user", "user_count"]
    r = run_cli(root, "check", "--exclude", "+by_user", "--exclude", "user_count+", "--format", "json")
    assert r.code == 0, r
    assert [a["name"] for a in r.json["assets"]] == ["top_users"]
    r = run_cli(root, "build", "--exclude", "top_usr")
    assert r.code == 2, r
    assert "did you mean 'top_users'?" in r.stderr


@pytest.mark.parametrize("term", ["", "  "])
def test_an_empty_selection_term_is_a_project_error(make_project, term):
    root = make_project(PIPELINE)
    with pytest.raises(ProjectError, match="empty selection"):
        select(load_project(root), [term])
