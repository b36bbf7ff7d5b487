"""A run as JUnit XML, the test report format CI systems read (GitHub, GitLab, Jenkins).

One <testsuite> per model (and prompt variant), one <testcase> per model × case (× variant,
× repeat): classname is the model, name the case id (with the variant and repeat when the run
has several), time the result's total seconds. A failed case carries a <failure> whose
message lists the failed assertions' reasons; an engine error or timeout is an <error>; a
result without a grade is <skipped>. A model with no result at all (it failed to load) gets
one <error> testcase, so CI does not read it as passing. The model's output goes to
<system-out>. Written with the standard library; characters XML 1.0 cannot hold (model
output may contain any) are replaced by U+FFFD.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from openpick.evals.summary import result_passed
from openpick.report.export import result_row
from openpick.store.records import CaseResult, RunInfo

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value) -> str:
    return _NOT_XML.sub("\ufffd", str(value))


def _seconds(s: float | None) -> str:
    return f"{s or 0.0:.3f}"


def _name(r: CaseResult, variants: int, repeats: int) -> str:
    name = r.case_id + (f" [{r.variant}]" if variants > 1 else "")
    return name + (f" #{r.repeat}" if repeats > 1 else "")


def _testcase(r: CaseResult, variants: int, repeats: int) -> tuple[ET.Element, str]:
    """The element and its outcome: passed, failure, error or skipped."""
    tc = ET.Element("testcase", classname=_text(r.model), name=_text(_name(r, variants, repeats)),
                    time=_seconds(r.total_s))
    if r.error:
        ET.SubElement(tc, "error", message=_text(r.error), type="engine-error").text = _text(r.error)
        outcome = "error"
    elif result_passed(r) is None:
        ET.SubElement(tc, "skipped", message="not graded: the case has no assertions")
        outcome = "skipped"
    elif not result_passed(r):
        failed = result_row(r)["failed_assertions"]
        if not failed and r.grade is not None:
            failed = f"score {r.grade.score:.2f} below the pass threshold {r.grade.threshold}"
        f = ET.SubElement(tc, "failure", message=_text(failed), type="assertion")
        f.text = _text(failed.replace(" | ", "\n"))
        outcome = "failure"
    else:
        outcome = "passed"
    if r.output is not None:
        ET.SubElement(tc, "system-out").text = _text(r.output)
    return tc, outcome


def _suite(name: str, cases: list[tuple[ET.Element, str]], props: dict[str, str]) -> ET.Element:
    counts = {k: sum(1 for _, o in cases if o == k) for k in ("failure", "error", "skipped")}
    total = sum(float(tc.get("time")) for tc, _ in cases)
    ts = ET.Element("testsuite", name=_text(name), tests=str(len(cases)),
                    failures=str(counts["failure"]), errors=str(counts["error"]),
                    skipped=str(counts["skipped"]), time=_seconds(total))
    p = ET.SubElement(ts, "properties")
    for k, v in props.items():
        if v is not None:
            ET.SubElement(p, "property", name=k, value=_text(v))
    ts.extend(tc for tc, _ in cases)
    return ts


def to_junit(run: RunInfo, results: list[CaseResult]) -> ET.Element:
    """The <testsuites> element of a run."""
    variants = len({r.variant for r in results})
    repeats = max((r.repeat for r in results), default=0) + 1
    groups: dict[tuple[str, str], list[CaseResult]] = {}
    for r in sorted(results, key=lambda r: (r.model, r.variant, r.case_id, r.repeat)):
        groups.setdefault((r.model, r.variant), []).append(r)
    infos = {m.name: m for m in run.models}
    order = {m.name: i for i, m in enumerate(run.models)}
    root = ET.Element("testsuites", name=_text(f"openpick {run.suite} run {run.id}"))
    for (model, variant), rs in sorted(groups.items(), key=lambda kv: (order.get(kv[0][0], 1e9), kv[0])):
        info = infos.get(model)
        label = model + (f" [{variant}]" if variants > 1 else "")
        root.append(_suite(label, [_testcase(r, variants, repeats) for r in rs], {
            "run": run.id, "suite": run.suite, "suite_hash": run.suite_hash, "variant": variant,
            "spec": info.spec if info else None, "engine": info.engine if info else None}))
    for m in run.models:
        if m.name not in {k[0] for k in groups}:
            tc = ET.Element("testcase", classname=_text(m.name), name="(no results)", time="0.000")
            msg = f"no results: the model did not answer any case (run {run.status})"
            ET.SubElement(tc, "error", message=msg, type="no-results").text = msg
            root.append(_suite(m.name, [(tc, "error")], {"run": run.id, "suite": run.suite,
                                                         "spec": m.spec, "engine": m.engine}))
    for key in ("tests", "failures", "errors", "skipped"):
        root.set(key, str(sum(int(ts.get(key)) for ts in root)))
    root.set("time", _seconds(sum(float(ts.get("time")) for ts in root)))
    return root


def junit_xml(run: RunInfo, results: list[CaseResult]) -> str:
    root = to_junit(run, results)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(run: RunInfo, results: list[CaseResult], path: str | Path) -> Path:
    """Write the JUnit XML atomically (a CI step reading it never sees half a file)."""
    from openpick.catalog.catalog import write_atomic

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, junit_xml(run, results))
    return path
