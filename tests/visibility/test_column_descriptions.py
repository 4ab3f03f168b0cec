"""A column's `description:` in a rule file documents the column: `show` (text and JSON) and the
report's column list carry it, beside the column's type."""

from __future__ import annotations

import json
import re

PROJECT = {
    "assetbuild.toml": '[project]\nname = "cols"\n[sources.src]\npath = "data/src.csv"\n',
    "data/src.csv": "id,amount,note\n1,10.5,a\n2,3.25,b\n",
    "assets/clean.sql": "SELECT id, amount, note FROM src\n",
    "rules/clean.yaml": """
        asset: clean
        columns:
          id: {unique: true, description: "The order's id, one row per order"}
          amount:
            min: {value: 0, description: "no refunds here"}
            description: "Amount in EUR, VAT included"
          note: {description: "Free text typed by the customer"}
        """,
}

WANTED = {
    "id": "The order's id, one row per order",
    "amount": "Amount in EUR, VAT included",  # the column's own, not its rule's
    "note": "Free text typed by the customer",  # a column with no rule at all
}


def test_show_text_and_json_carry_column_descriptions(make_project, run_cli):
    root = make_project(PROJECT)
    assert run_cli(root, "build").code == 0
    text = run_cli(root, "show", "clean")
    assert text.code == 0, text
    for column, words in WANTED.items():
        assert re.search(rf"^    {column}: \w+ +{re.escape(words)}$", text.stdout, re.M), text.stdout
    js = run_cli(root, "show", "clean", "--format", "json")
    schema = {c["name"]: c.get("description") for c in js.json["current"]["schema"]}
    assert schema == WANTED, schema


def test_show_of_a_never_built_asset_still_lists_described_columns(make_project, run_cli):
    root = make_project(PROJECT)
    js = run_cli(root, "show", "clean", "--format", "json")
    assert js.code == 0, js
    assert js.json["columns"] == WANTED, js.json


def test_report_lists_column_descriptions(make_project, run_cli, tmp_path):
    root = make_project(PROJECT)
    assert run_cli(root, "build").code == 0
    page = tmp_path / "r.html"
    assert run_cli(root, "report", "-o", str(page)).code == 0
    found = re.search(r'<script id="data" type="application/json">(.*?)</script>', page.read_text(), re.S)
    assert found
    data = json.loads(found.group(1))
    assert data["assets"]["clean"]["columns"] == WANTED


def test_report_column_list_in_a_browser(make_project, run_cli, chromium, tmp_path):
    root = make_project(PROJECT)
    assert run_cli(root, "build").code == 0
    page = tmp_path / "r.html"
    assert run_cli(root, "report", "-o", str(page)).code == 0
    shown = chromium(page, fragment="#asset=clean")
    detail = re.search(r'<aside id="detail"[^>]*>(.*?)</aside>', shown.dom, re.S)
    assert detail, shown.dom[:500]
    text = re.sub(r"<[^>]+>", " ", detail.group(1)).replace("&#39;", "'").replace("&amp;", "&")
    for words in WANTED.values():
        assert words in text, text
