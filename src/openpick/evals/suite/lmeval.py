"""lm-evaluation-harness task YAML, read as an openpick suite (over local data files only).

    task: capitals
    dataset_path: json                       # or csv, parquet, or a local file or folder
    dataset_kwargs: {data_files: {test: capitals.jsonl}}
    test_split: test
    output_type: multiple_choice             # or generate_until
    doc_to_text: "Question: {{question}}\\nAnswer:"
    doc_to_choice: choices                   # a column, a list, or a template giving a list
    doc_to_target: label                     # a column, an index, or a template
    target_delimiter: " "

Each document of the evaluated split (`test_split`, else `validation_split`) becomes a case,
with lm-eval's meaning of the `doc_to_*` fields: a string that names a column is that
column; anything else is a Jinja template over the document (sandboxed here); a target that
renders to digits is an index into the choices, one that is a choice's text is that choice.
`description` (a template too) is put before every prompt, as lm-eval does.

- multiple_choice → a choices case (scored by log-likelihood, evals/choices.py): the
  choices are scored as `target_delimiter + choice` after `description + doc_to_text`.
- generate_until → a generated case (mode completion, temperature 0) stopping at
  `generation_kwargs.until` (default a blank line), at most `max_gen_toks` tokens (default
  256), graded by `equals` against the target (both sides stripped; lm-eval's exact_match
  compares as is, and its filters are not run: a task with `filter_list` is refused).

Data stays local: `dataset_path` is `json`, `csv` or `parquet` with `dataset_kwargs:
{data_files: ...}` (a path, a list, or split → paths; globs allowed), or a local file or
folder; paths resolve against the task file's folder. A Hub dataset id is refused, with
what to do instead, since openpick does not download data. `include:` merges another task
YAML under this one. Not supported, and refused by name and line: few-shot prompts
(`num_fewshot` > 0), Python hooks (`process_docs`, `process_results`, `!function`),
multiple-input tasks (a `doc_to_text` that gives an index), and lists of targets.
"""

from __future__ import annotations

import ast
import csv
import glob
import io
import json
from pathlib import Path
from typing import Any

from openpick.errors import InvalidInput
from openpick.evals.suite import templating
from openpick.evals.suite.formats import SOURCE_FILES, Format, register
from openpick.evals.suite.templating import TemplateProblem
from openpick.evals.suite.yamllines import YamlError, load

BUILDERS = {"json": (".jsonl", ".json", ".ndjson"), "csv": (".csv",), "parquet": (".parquet",)}
DATA_SUFFIXES = tuple(s for group in BUILDERS.values() for s in group)
# TaskConfig keys that change nothing here: labels, metrics (acc and acc_norm are always
# reported), the splits that are not evaluated, decontamination.
IGNORED = {"task_alias", "tag", "group", "group_alias", "metadata", "metric_list",
           "training_split", "fewshot_split", "should_decontaminate",
           "doc_to_decontamination_query", "dataset_name", "repeats", "unsafe_code",
           "aggregate_metric_list"}
READ = {"task", "include", "dataset_path", "dataset_kwargs", "test_split", "validation_split",
        "output_type", "doc_to_text", "doc_to_choice", "doc_to_target", "target_delimiter",
        "fewshot_delimiter", "num_fewshot", "description", "generation_kwargs", "filter_list"}
REFUSED = {"process_docs": "Python hooks (process_docs) are not supported; preprocess the "
                           "data file instead",
           "process_results": "Python hooks (process_results) are not supported",
           "fewshot_config": "few-shot prompts are not supported",
           "doc_to_image": "image tasks are not supported",
           "doc_to_audio": "audio tasks are not supported",
           "use_prompt": "promptsource prompts (use_prompt) are not supported",
           "custom_dataset": "custom dataset functions are not supported",
           "gen_prefix": "gen_prefix is not supported",
           "class": "Python task classes are not supported"}
GENERATION_KEYS = {"until", "max_gen_toks", "do_sample", "temperature", "top_p"}


def detect(doc: Any) -> bool:
    if not isinstance(doc, dict) or "task" not in doc:
        return False
    return any(k in doc for k in ("doc_to_text", "output_type", "dataset_path", "include",
                                  "doc_to_choice", "doc_to_target"))


class _Task:
    """The merged task config, remembering which file (and line) each key came from."""

    def __init__(self, doc: dict, path: Path | None, base_dir: Path):
        self.values: dict[str, Any] = {}
        self.origin: dict[str, tuple[Path | None, Any]] = {}
        self.base_dir = base_dir
        self._merge(doc, path, seen=set())

    def _merge(self, doc: dict, path: Path | None, seen: set) -> None:
        inc = doc.get("include")
        if inc is not None:
            if not isinstance(inc, str):
                self.fail("include", "must be a file name", path, doc)
            folder = path.parent if path else self.base_dir
            ipath = (folder / inc).resolve()
            if ipath in seen:
                self.fail("include", f"includes itself (through {ipath.name})", path, doc)
            try:
                text = ipath.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as e:
                self.fail("include", f"cannot read {inc}: {getattr(e, 'strerror', e)}",
                          path, doc)
            try:
                included = load(text)
            except YamlError as e:
                raise InvalidInput(e.problem, path=str(ipath), line=e.line) from None
            if not isinstance(included, dict):
                raise InvalidInput("an included task is a YAML mapping", path=str(ipath), line=1)
            self._merge(included, ipath, seen | {ipath})
        for key, value in doc.items():
            if key != "include":
                self.values[key] = value
                self.origin[key] = (path, doc)

    def folder(self, key: str) -> Path:
        """The folder of the file that set `key`: its relative paths resolve there."""
        path = self.origin.get(key, (None, None))[0]
        return path.parent if path else self.base_dir

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def fail(self, key: str, msg: str, path: Path | None = None, doc: Any = None):
        if doc is None:
            path, doc = self.origin.get(key, (None, None))
        line = doc.line_of(key) if hasattr(doc, "line_of") else None
        raise InvalidInput(f"{key}: {msg}", path=str(path) if path else "<suite>", line=line)


def convert(doc: Any, path: Path | None, base_dir: Path) -> dict:
    task = _Task(doc, path, base_dir)
    _check_keys(task)
    name = task.get("task")
    if not isinstance(name, str) or not name:
        task.fail("task", "must be the task's name (a string)")
    output = task.get("output_type", "generate_until")
    if output not in ("multiple_choice", "generate_until"):
        task.fail("output_type", f"{output!r} is not supported (multiple_choice or "
                                 "generate_until)")
    shots = task.get("num_fewshot", 0)
    if shots not in (0, None):
        task.fail("num_fewshot", f"{shots!r}: few-shot prompts are not supported; give 0 "
                                 "(or leave it out)")
    if output == "generate_until" and task.get("filter_list"):
        task.fail("filter_list", "filters (answer extraction) are not supported; the "
                                 "answer is graded whole")
    split, files = _data_files(task)
    docs = [(f, line, d) for f in files for line, d in _read(f)]
    if not docs:
        task.fail("dataset_path", f"no documents in split {split!r}")
    cases = [_case(task, name, output, i, f, line, d) for i, (f, line, d) in enumerate(docs)]
    shown = ", ".join(str(_rel(f, base_dir)) for f in files[:3])
    return {"name": name, "cases": cases, SOURCE_FILES: [str(f) for f in files],
            "description": f"lm-eval task {name} ({output}), split {split}: {len(docs)} "
                           f"documents from {shown}"}


def _check_keys(task: _Task) -> None:
    for key in task.values:
        if key in REFUSED:
            task.fail(key, REFUSED[key])
        if key not in READ and key not in IGNORED:
            task.fail(key, "unknown lm-eval task key")


# -- data --------------------------------------------------------------------------------
def _data_files(task: _Task) -> tuple[str, list[Path]]:
    split = task.get("test_split") or task.get("validation_split")
    if not isinstance(split, str):
        task.fail("test_split" if "test_split" in task.values else "task",
                  "needs test_split (or validation_split): the split to evaluate")
    source = task.get("dataset_path")
    kwargs = task.get("dataset_kwargs") or {}
    if not isinstance(kwargs, dict):
        task.fail("dataset_kwargs", "must be a mapping such as {data_files: {test: test.jsonl}}")
    for key in kwargs:
        if key not in ("data_files", "data_dir", "trust_remote_code"):
            task.fail("dataset_kwargs", f"{key} is not supported (data_files, data_dir)")
    if not isinstance(source, str) or not source:
        task.fail("dataset_path" if "dataset_path" in task.values else "task",
                  "needs dataset_path (json, csv or parquet with dataset_kwargs.data_files, "
                  "or a local file or folder)")
    folder = task.folder("dataset_path")
    data_files = kwargs.get("data_files")
    if source in BUILDERS:
        if data_files is None:
            task.fail("dataset_path", f"{source} needs dataset_kwargs.data_files (the local "
                                      "files to read)")
        return split, _pick_split(task, data_files, split, task.folder("dataset_kwargs"))
    local = folder / source
    if not local.exists():
        task.fail("dataset_path", f"{source!r} is a Hugging Face Hub dataset (or a missing "
                                  "path); openpick reads local files only and does not download: "
                                  "download the split's file (JSONL, CSV or Parquet) and give "
                                  "dataset_path: json (or csv, parquet) with dataset_kwargs: "
                                  "{data_files: {" + split + ": path/to/file}}")
    if data_files is not None:
        return split, _pick_split(task, data_files, split, local if local.is_dir() else folder)
    if local.is_file():
        return split, [local]
    sub = local / kwargs["data_dir"] if kwargs.get("data_dir") else local
    found = sorted(p for p in sub.rglob("*") if p.is_file() and p.suffix in DATA_SUFFIXES)
    named = [p for p in found if split in p.name]
    if named or len(found) == 1:
        return split, named or found
    task.fail("dataset_path", f"found no data file for split {split!r} in {source} (a "
                              f"file whose name contains {split!r}: {split}.jsonl, say)")


def _pick_split(task: _Task, data_files: Any, split: str, folder: Path) -> list[Path]:
    if isinstance(data_files, dict):
        if split not in data_files:
            task.fail("dataset_kwargs", f"data_files has no split {split!r} (it has: "
                                        f"{', '.join(map(str, data_files))})")
        data_files = data_files[split]
    # a path or list alone is one split (HF names it "train"): read it as the evaluated one
    names = [data_files] if isinstance(data_files, str) else data_files
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        task.fail("dataset_kwargs", "data_files must be a path, a list of paths or "
                                    "split → paths")
    out: list[Path] = []
    for name in names:
        pattern = name if Path(name).is_absolute() else str(folder / name)
        hits = sorted(Path(p) for p in glob.glob(pattern)) if glob.has_magic(name) else \
            [Path(pattern)]
        for p in hits:
            if not p.is_file():
                task.fail("dataset_kwargs", f"data file not found: {name}")
            if p.suffix not in DATA_SUFFIXES:
                task.fail("dataset_kwargs", f"{name}: unsupported data file type "
                                            f"(JSONL, JSON, CSV or Parquet)")
            out.append(p)
        if not hits:
            task.fail("dataset_kwargs", f"no data file matches {name}")
    return out


def _read(path: Path) -> list[tuple[int | None, dict]]:
    """(line, document) pairs; the line is None where a format has none (Parquet)."""
    if path.suffix == ".parquet":
        return [(None, d) for d in _parquet(path)]
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidInput(f"cannot read data file: {getattr(e, 'strerror', None) or e}",
                           path=str(path)) from None
    if path.suffix == ".csv":
        return _csv(path, text)
    if path.suffix == ".json" and text.lstrip().startswith("["):
        try:
            rows = json.loads(text)
        except ValueError as e:
            raise InvalidInput(f"not JSON: {e}", path=str(path)) from None
        if not all(isinstance(r, dict) for r in rows):
            raise InvalidInput("a JSON data file is a list of objects", path=str(path), line=1)
        return [(None, r) for r in rows]
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                row = json.loads(line)
            except ValueError as e:
                raise InvalidInput(f"not JSON: {e}", path=str(path), line=n) from None
            if not isinstance(row, dict):
                raise InvalidInput("each line must be a JSON object", path=str(path), line=n)
            out.append((n, row))
    return out


def _csv(path: Path, text: str) -> list[tuple[int, dict]]:
    """Rows with numbers where a whole column is numbers (as the HF csv loader infers)."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows, start = [], 2
    try:
        for row in reader:
            row.pop(None, None)
            rows.append((start, {k: v or "" for k, v in row.items()}))
            start = reader.line_num + 1
    except csv.Error as e:
        raise InvalidInput(f"not valid CSV: {e}", path=str(path), line=reader.line_num) from None
    for col in reader.fieldnames or []:
        for kind in (int, float):
            try:
                values = [kind(d[col]) for _, d in rows]
            except (ValueError, KeyError):
                continue
            for (_, d), v in zip(rows, values):
                d[col] = v
            break
    return rows


def _parquet(path: Path) -> list[dict]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        try:
            import pandas
        except ImportError:
            raise InvalidInput("reading Parquet needs pyarrow (pip install pyarrow), or "
                               "convert the file to JSONL", path=str(path)) from None
        return pandas.read_parquet(path).astype(object).to_dict("records")
    try:
        return pq.read_table(path).to_pylist()
    except Exception as e:  # noqa: BLE001 - pyarrow's errors vary; say which file
        raise InvalidInput(f"not a readable Parquet file: {e}", path=str(path)) from None


def _rel(p: Path, base: Path) -> Path:
    try:
        return p.resolve().relative_to(base.resolve())
    except (ValueError, OSError):
        return p


# -- documents → cases ---------------------------------------------------------------------
class _DocError(Exception):
    pass


def _case(task: _Task, name: str, output: str, i: int, f: Path, line: int | None,
          d: dict) -> dict:
    case = {"id": f"{name}-{i}", "tags": [name], "mode": "completion",
            "prompt": "{{_lmeval_text}}"}
    key = "doc_to_text"
    try:
        text = _text(task, d)
        if output == "multiple_choice":
            key = "doc_to_choice"
            choices = _choices(task.get("doc_to_choice"), d)
            key = "doc_to_target"
            answer = _answer(task.get("doc_to_target"), d, choices)
        else:
            key = "doc_to_target"
            target = _target(task.get("doc_to_target"), d, None)
            if isinstance(target, list):
                raise _DocError("a list of targets is not supported")
    except _DocError as e:
        where = f"line {line}" if line else f"row {i + 1}"
        raise InvalidInput(f"{key}: {e} (document at {where} of {f.name})", path=str(f),
                           line=line) from None
    # The texts go in as vars, so the suite's own templating does not render them again.
    case["vars"] = {"_lmeval_text": text}
    if output == "multiple_choice":
        delim = task.get("target_delimiter", " ")
        if not isinstance(delim, str):
            task.fail("target_delimiter", "must be a string")
        case["vars"].update({f"_lmeval_choice_{k}": c for k, c in enumerate(choices)})
        case.update(choices=[f"{{{{_lmeval_choice_{k}}}}}" for k in range(len(choices))],
                    answer=answer, choice_prefix=delim)
        return case
    case["vars"]["_lmeval_target"] = str(target)
    case.update(_generation(task), **{"assert": [{"equals": "{{_lmeval_target}}"}]})
    return case


def _render(source: str, d: dict) -> str:
    try:
        return templating.render(source, d)
    except TemplateProblem as e:
        raise _DocError(str(e)) from None


def _text(task: _Task, d: dict) -> str:
    spec = task.get("doc_to_text")
    if spec is None:
        task.fail("task", "needs doc_to_text (a column or a template)")
    if isinstance(spec, int) and not isinstance(spec, bool):
        task.fail("doc_to_text", "an index (a multiple-input task) is not supported")
    if not isinstance(spec, str):
        task.fail("doc_to_text", "must be a column name or a template")
    text = d[spec] if spec in d else _render(spec, d)
    if not isinstance(text, str):
        raise _DocError(f"gives {type(text).__name__}, not text")
    desc = task.get("description")
    if desc:
        if not isinstance(desc, str):
            task.fail("description", "must be a template (a string)")
        text = _render(desc, d) + text
    return text


def _choices(spec: Any, d: dict) -> list[str]:
    if spec is None:
        raise _DocError("multiple_choice needs doc_to_choice (a column, a list or a template)")
    if isinstance(spec, dict):
        spec = list(spec.values())
    if isinstance(spec, str):
        if spec in d:
            value = d[spec]
        else:
            rendered = _render(spec, d)
            try:
                value = ast.literal_eval(rendered)
            except (ValueError, SyntaxError):
                raise _DocError(f"the template gives {rendered[:80]!r}, not a list") from None
        spec = value
    if not isinstance(spec, (list, tuple)) or len(spec) < 2:
        raise _DocError("needs a list of two or more choices")
    out = [str(c) if isinstance(c, (int, float)) and not isinstance(c, bool) else c
           for c in spec]
    if not all(isinstance(c, str) and c.strip() for c in out):
        raise _DocError("every choice must be a non-empty text")
    return out


def _target(spec: Any, d: dict, choices: list[str] | None) -> Any:
    """lm-eval's doc_to_target: an int, a column's value, or a rendered template (digits
    become an index when there are choices; "[...]" a list)."""
    if spec is None:
        raise _DocError("needs doc_to_target (a column, an index or a template)")
    if isinstance(spec, (int, list)) and not isinstance(spec, bool):
        return spec
    if not isinstance(spec, str):
        raise _DocError("must be a column name, an index or a template")
    if spec in d:
        return d[spec]
    text = _render(spec, d)
    if text.isdigit() and choices is not None:
        return int(text)
    if len(text) >= 2 and text[0] == "[" and text[-1] == "]":
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text
    return text


def _answer(spec: Any, d: dict, choices: list[str]) -> int:
    gold = _target(spec, d, choices)
    if isinstance(gold, bool) or isinstance(gold, list):
        raise _DocError("a list of targets is not supported" if isinstance(gold, list)
                        else "the target must be an index or a choice's text")
    if isinstance(gold, int):
        if not 0 <= gold < len(choices):
            raise _DocError(f"index {gold} is out of range for {len(choices)} choices")
        return gold
    if isinstance(gold, str) and gold in choices:
        return choices.index(gold)
    raise _DocError(f"{str(gold)[:80]!r} is neither an index nor one of the choices")


def _generation(task: _Task) -> dict:
    kw = task.get("generation_kwargs") or {}
    if not isinstance(kw, dict):
        task.fail("generation_kwargs", "must be a mapping")
    for key in kw:
        if key not in GENERATION_KEYS:
            task.fail("generation_kwargs", f"{key} is not supported "
                                           f"({', '.join(sorted(GENERATION_KEYS))})")
    until = kw.get("until", ["\n\n"])
    until = [until] if isinstance(until, str) else until
    if not isinstance(until, list) or not all(isinstance(u, str) and u for u in until):
        task.fail("generation_kwargs", "until must be a string or a list of strings")
    out = {"stop": until, "max_tokens": kw.get("max_gen_toks", 256), "temperature": 0.0}
    if kw.get("do_sample"):
        out["temperature"] = kw.get("temperature", 1.0)
        if "top_p" in kw:
            out["top_p"] = kw["top_p"]
    return out


LMEVAL = register(Format("lm-eval", detect, convert))
