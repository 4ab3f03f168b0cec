"""Check results for CI: JUnit XML (one testcase per rule per asset) and GitHub annotations.

Pure formatting: reads AssetResults, imports nothing heavy. A failed `error` rule is a <failure>;
a failed `warn` rule passes (warnings never block, DESIGN §3) but says so in <system-out> and a
`severity` property, so CI dashboards show it without turning the run red.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence

from assetbuild.gate.rules import RuleSet
from assetbuild.model.results import AssetResult, CheckResult, Severity, Status

# XML 1.0 cannot carry most control characters, even escaped; failing samples may contain them.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: object) -> str:
    return _XML_INVALID.sub("\ufffd", str(value))


def summary(asset: str, check: CheckResult) -> str:
    """One line: `clean: amount.min failed on 2 rows (expected >= 0, actual min -3.5)`."""
    n = check.failing_rows
    what = f"failed on {n} row{'' if n == 1 else 's'}" if n else "failed"
    detail = ", ".join(x for x in (f"expected {check.expected}" if check.expected else "",
                                   f"actual {check.actual}" if check.actual else "") if x)  # fmt: skip
    return f"{asset}: {check.name} {what}" + (f" ({detail})" if detail else "")


def junit_xml(results: Sequence[AssetResult], suite_name: str) -> str:
    """A JUnit report: <testsuite> per asset, <testcase classname=ASSET name=RULE> per check."""
    root = ET.Element("testsuites", name=_text(suite_name))
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for asset in results:
        suite = ET.SubElement(root, "testsuite", name=_text(asset.name))
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for check in asset.checks:
            counts["tests"] += 1
            case = ET.SubElement(suite, "testcase", classname=_text(asset.name), name=_text(check.name))
            case.set("time", "0")
            props = ET.SubElement(case, "properties")
            ET.SubElement(props, "property", name="severity", value=check.severity.value)
            if check.source:
                ET.SubElement(props, "property", name="source", value=_text(check.source))
            if check.passed:
                continue
            message = summary(asset.name, check)
            body = "\n".join(json.dumps(row, ensure_ascii=False, default=str) for row in check.sample)
            if check.severity is Severity.ERROR:
                counts["failures"] += 1
                failure = ET.SubElement(case, "failure", message=_text(message), type="check_failed")
                failure.text = _text(body) if body else None
            else:
                out = ET.SubElement(case, "system-out")
                out.text = _text(f"WARNING {message}" + (f"\n{body}" if body else ""))
        # An asset that never reached its checks still shows up, so a CI run cannot pass silently.
        if asset.status in (Status.FAILED, Status.BLOCKED) and not asset.checks:
            counts["tests"] += 1
            case = ET.SubElement(suite, "testcase", classname=_text(asset.name), name="build", time="0")
            if asset.status is Status.FAILED:
                counts["errors"] += 1
                error = ET.SubElement(
                    case, "error", message=_text(asset.error or asset.reason), type="failed"
                )
                error.text = _text(asset.error or asset.reason)
            else:
                counts["skipped"] += 1
                ET.SubElement(
                    case, "skipped", message=_text(f"blocked by {asset.blocked_by or asset.reason}")
                )
        for k, v in counts.items():
            suite.set(k, str(v))
            totals[k] += v
        suite.set("time", f"{asset.duration_s:.3f}")
    for k, v in totals.items():
        root.set(k, str(v))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotations(
    results: Sequence[AssetResult], rule_sources: Mapping[str, RuleSet] | None = None, path_prefix: str = ""
) -> list[str]:
    """GitHub Actions workflow commands, one per failed check:
    `::error file=rules/x.yaml,line=3::clean: amount.min failed on 2 rows (...)` (`::warning` for warn).

    The location comes from the current rule files (`rule_sources`, asset → RuleSet) when given,
    since a cached result may predate an edit that moved the rule; else from the result itself.
    GitHub wants paths from the repository root: pass the project's folder as `path_prefix`
    (e.g. "examples/fraud") when the project is not the repository.
    """
    lines = []
    for asset in results:
        ruleset = (rule_sources or {}).get(asset.name)
        for check in asset.checks:
            if check.passed:
                continue
            rule = ruleset.rule(check.name) if ruleset else None
            source = rule.source if rule else check.source
            level = "error" if check.severity is Severity.ERROR else "warning"
            props = ""
            if source:
                path, _, line = source.rpartition(":")
                if not line.isdigit():
                    path, line = source, ""
                path = f"{path_prefix.rstrip('/')}/{path}" if path_prefix else path
                props = f" file={_escape_property(path)}" + (f",line={line}" if line else "")
            lines.append(f"::{level}{props}::{_escape_data(summary(asset.name, check))}")
    return lines
