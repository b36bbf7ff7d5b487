"""SQLite + FTS5 search index over catalog records.

The index lives in the user data dir and is derived data: it is rebuilt whenever the
source files (bundled + imported records) change, into a temporary file that replaces
the old index in one rename, so a reader never sees a half-built index.

Layout: `models` holds one row per record (filterable columns + the record as JSON);
`facets` holds (kind, value, rid) rows for tasks, domains, languages and tags, indexed so
a facet filter is an index lookup; `bases` holds child → parent edges for lineage
queries; `fts` is a contentless FTS5 table keyed by the same rowid.

Openness facts (MOF class and progress) come from the layer above: the catalog sits below
openness and never imports it. The openness package registers its evaluator here when it
is imported (`register_openness_facts`); a caller can also pass `facts=` to the build and
search functions. License facts come from the catalog's own license table.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

from openpick.catalog import memory
from openpick.catalog.licenses import license_info
from openpick.catalog.schema import ModelRecord
from openpick.errors import InvalidInput

# 6: MOF facts follow the MOT exactly for imported release files (catalog.merge_catalog_records)
SCHEMA_VERSION = "7"
FACET_KINDS = ("task", "domain", "language", "tag")

# `models` is kept narrow (filter and sort columns only) so walking it is cheap; the
# full record JSON lives in `records` and is read only for the hits returned.
_DDL = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE models(
  rid INTEGER PRIMARY KEY,
  id TEXT NOT NULL COLLATE NOCASE,
  license TEXT COLLATE NOCASE, license_osi INTEGER, license_commercial INTEGER,
  parameters INTEGER, release_date TEXT, mof_class INTEGER, openness REAL, kv_per_token REAL
);
CREATE TABLE records(rid INTEGER PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE bases(child INTEGER NOT NULL, parent_id TEXT NOT NULL COLLATE NOCASE,
  parent_rid INTEGER, relation TEXT);
CREATE TABLE facets(kind TEXT NOT NULL, value TEXT NOT NULL, rid INTEGER NOT NULL,
  PRIMARY KEY(kind, value, rid)) WITHOUT ROWID;
CREATE VIRTUAL TABLE fts USING fts5(
  id, name, developer, family, description, keywords, facets,
  content='', detail='column', tokenize='unicode61 remove_diacritics 2', prefix='3');
CREATE VIRTUAL TABLE fts_vocab USING fts5vocab(fts, 'row');
"""
_POST_DDL = """
CREATE UNIQUE INDEX models_id ON models(id);
CREATE INDEX models_params ON models(parameters IS NULL, parameters, id);
CREATE INDEX models_date ON models(release_date DESC, id);
CREATE INDEX models_openness ON models(openness DESC, id);
CREATE INDEX bases_parent ON bases(parent_id);
-- resolve parent ids to rowids once, so lineage walks join integers
UPDATE bases SET parent_rid = (SELECT rid FROM models WHERE models.id = bases.parent_id);
CREATE INDEX bases_parent_rid ON bases(parent_rid);
"""
# bm25 weights per FTS column; facets carry filters only, never relevance.
BM25_WEIGHTS = (10.0, 8.0, 3.0, 3.0, 1.0, 2.0, 0.0)
# Relevance is exact among the first CANDIDATES matches in rowid order (the catalog's
# static order); above that a query is too broad for its ranking to mean much.
CANDIDATES = 1000
# Above this many estimated matches, walk the sort index instead of sorting matches.
WALK_THRESHOLD = 3000


def default_path() -> Path:
    from openpick.paths import data_dir

    return data_dir() / "catalog-index.sqlite"


# --- derived facts ---------------------------------------------------------------

# record → (MOF class 0-3, progress per class '1'/'2'/'3' in percent)
OpennessFacts = Callable[[ModelRecord], "tuple[int, Mapping[str, float]]"]
_registered: OpennessFacts | None = None


def register_openness_facts(provider: OpennessFacts) -> None:
    """Set the function that gives the index each record's MOF class and progress (the
    openness layer registers its evaluator on import). A module-level function, so that
    bulk builds can hand it to a worker process; its answer may depend only on the
    record's license, release licenses and components (results are memoised on those)."""
    global _registered
    _registered = provider


def _provider(facts: OpennessFacts | None) -> OpennessFacts:
    provider = facts or _registered
    if provider is None:
        # A wiring mistake in the program, not something a user can cause.
        raise RuntimeError(
            "the catalog index needs MOF facts from the openness layer: import openpick's openness "
            "package (it registers them) before building or searching the index, or pass facts=")
    return provider


def _provider_name(provider: OpennessFacts) -> str:
    return f"{getattr(provider, '__module__', '?')}.{getattr(provider, '__qualname__', repr(provider))}"


_derive_cache: dict[tuple, dict[str, Any]] = {}


def _derive(rec: ModelRecord, facts: OpennessFacts | None = None) -> dict[str, Any]:
    """Openness and license facts for a record, memoised on the fields they depend on
    (many records share a license and component set, so this is cheap in bulk)."""
    provider = _provider(facts)
    rl = rec.release_licenses
    key = (provider, rec.license, rl.distribution, rl.code, rl.data, rl.document,
           tuple((k, c.present, c.license) for k, c in rec.components.items()))
    hit = _derive_cache.get(key)
    if hit is None:
        mof_class, progress = provider(rec)
        info = license_info(rec.license)
        hit = {
            "mof_class": mof_class,
            "openness": openness_score(mof_class, progress),
            "license_osi": None if info.osi_approved is None else int(bool(info.osi_approved)),
            "license_commercial": None if info.commercial_use is None else int(bool(info.commercial_use)),
        }
        if len(_derive_cache) > 100_000:
            _derive_cache.clear()
        _derive_cache[key] = hit
    return hit


def openness_score(mof_class: int, progress: dict[str, float]) -> float:
    """One sortable number: classes reached (III=1, II=2, I=3) plus the fraction of the
    way to the next one. Class numbers count down (I is the most open)."""
    reached = 0 if not mof_class else 4 - mof_class
    nxt = str(3 - reached) if reached < 3 else None
    frac = (progress.get(nxt, 0.0) or 0.0) / 100 if nxt else 0.0
    return round(reached + min(frac, 0.999), 4)


def _alnum(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum())


@lru_cache(maxsize=65536)
def facet_token(kind: str, value: str) -> str:
    """Filters are FTS tokens in the `facets` column ('x' + kind + value, alphanumeric),
    so a conjunction of filters is a posting-list intersection inside FTS5."""
    return "x" + kind + _alnum(value)


def _facet_tokens(rec: ModelRecord, d: dict[str, Any]) -> str:
    toks = [facet_token("task", t) for t in rec.tasks]
    toks += [facet_token("domain", t) for t in rec.domains]
    toks += [facet_token("lang", t) for t in rec.languages]
    toks.append(facet_token("lic", rec.license))
    if d["license_osi"]:
        toks.append("xlicosi")
    if d["license_commercial"]:
        toks.append("xliccommercial")
    # "at least class N": a Class II model also satisfies "at least III"
    toks += [f"xmof{n}" for n in (1, 2, 3) if d["mof_class"] and d["mof_class"] <= n]
    return " ".join(toks)


_WORD_PARTS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+")


def name_parts(*names: str) -> list[str]:
    """The word parts of compound names, so a search for "coder" finds StarCoder2 and
    "lm" SmolLM2: "StarCoder2" → star, coder (words with two or more parts of 2+ letters)."""
    out: list[str] = []
    for name in names:
        for word in re.split(r"[^A-Za-z0-9]+", name or ""):
            parts = [p.lower() for p in _WORD_PARTS.findall(word) if len(p) > 1]
            if len(parts) > 1:
                out += parts
    return out


def _keywords(rec: ModelRecord) -> str:
    return " ".join([*rec.tasks, *rec.domains, *rec.languages, *rec.tags, *rec.features,
                     rec.license, rec.architecture or "", rec.pipeline_tag or "",
                     *name_parts(rec.name, rec.family or "")])


# --- building --------------------------------------------------------------------

_BATCH = 2000


def _rows(rid: int, rec: ModelRecord, raw_json: str | None = None, facts: OpennessFacts | None = None):
    """Index rows for one record. `raw_json` (the record's validated source JSON) is
    stored as is when given, saving a re-serialisation in bulk imports."""
    d = _derive(rec, facts)
    model = (rid, rec.id, rec.license, d["license_osi"], d["license_commercial"], rec.parameters,
             rec.release_date, d["mof_class"], d["openness"],
             memory.kv_bytes_per_token(rec.parameters, rec.features))
    record = (rid, raw_json or rec.model_dump_json(exclude_none=True, exclude_defaults=True))
    fts = (rid, rec.id.replace("/", " "), rec.name, rec.developer, rec.family or "",
           rec.description or "", _keywords(rec), _facet_tokens(rec, d))
    bases = [(rid, b, None, rec.base_model_relation) for b in rec.base_model]
    facets = {("task", t.lower()) for t in rec.tasks} | {("domain", t.lower()) for t in rec.domains}
    facets |= {("lang", t.lower()) for t in rec.languages}
    return model, record, fts, bases, [(k, v, rid) for k, v in facets]


def _flush(con: sqlite3.Connection, batch: list) -> None:
    con.executemany("INSERT INTO models VALUES (?,?,?,?,?,?,?,?,?,?)", [b[0] for b in batch])
    con.executemany("INSERT INTO records VALUES (?,?)", [b[1] for b in batch])
    con.executemany("INSERT INTO fts(rowid, id, name, developer, family, description, keywords, facets) "
                    "VALUES (?,?,?,?,?,?,?,?)", [b[2] for b in batch])
    con.executemany("INSERT INTO bases VALUES (?,?,?,?)", [e for b in batch for e in b[3]])
    con.executemany("INSERT INTO facets VALUES (?,?,?)", [e for b in batch for e in b[4]])
    batch.clear()


def _batches(records: Iterable[ModelRecord], facts: OpennessFacts):
    batch: list = []
    for n, rec in enumerate(records, start=1):
        batch.append(_rows(n, rec, facts=facts))
        if len(batch) >= _BATCH:
            yield batch
            batch = []
    yield batch


def build_index(path: Path, records: Iterable[ModelRecord], fingerprint: str = "",
                facts: OpennessFacts | None = None) -> int:
    """Write a fresh index to `path` atomically; returns the number of records.

    Records keep their arrival order as rowids (the catalog passes them sorted by
    openness, then id), which is the static order relevance candidates are taken in.
    `facts` gives each record's MOF class and progress (default: the registered one).
    """
    return _write(path, _batches(records, _provider(facts)), fingerprint)


def _rows_from_jsonl(chunk: tuple[int, list[tuple[int, str]]], facts: OpennessFacts | None = None) -> list:
    """Worker: validate JSON lines into records and turn them into index rows."""
    from pydantic import ValidationError

    from openpick.catalog.loader import format_validation_error

    start, lines = chunk
    out = []
    for i, (lineno, line) in enumerate(lines):
        try:
            rec = ModelRecord.model_validate_json(line)
        except ValidationError as e:
            raise InvalidInput(f"line {lineno}: {format_validation_error(e)}") from None
        out.append(_rows(start + i, rec, line, facts))
    return out


def _jsonl_chunks(path: Path):
    lines: list[tuple[int, str]] = []
    start = 1
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if line.strip():
                lines.append((lineno, line))
            if len(lines) >= _BATCH:
                yield start, lines
                start += len(lines)
                lines = []
    if lines:
        yield start, lines


def build_index_from_jsonl(path: Path, source: Path, fingerprint: str = "",
                           workers: int | None = None, facts: OpennessFacts | None = None) -> int:
    """Bulk import: JSON Lines of records → index, every line validated. A bad line
    aborts the build naming its line, and leaves no index behind.

    With two or more cores, validation runs in one worker process while this one
    writes SQLite (measured: one worker beats two on a 2-core machine, since the
    writer needs a core too; see BENCHMARKS.md).
    """
    if workers is None:
        workers = 1 if (os.cpu_count() or 1) >= 2 else 0
    # The provider travels to the worker with each chunk (pickled by name), so a worker
    # started by spawn, which has not imported the openness layer, still has it.
    rows = partial(_rows_from_jsonl, facts=_provider(facts))
    try:
        if workers <= 0:
            return _write(path, (rows(c) for c in _jsonl_chunks(source)), fingerprint)
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as pool:
            return _write(path, pool.map(rows, _jsonl_chunks(source)), fingerprint)
    except InvalidInput as e:
        raise InvalidInput(e.message, path=str(source)) from None


def _write(path: Path, row_batches: Iterable[list], fingerprint: str) -> int:
    """Build into a temp file and rename it over `path`.

    Rows are produced (validation, derived facts) in this thread while a writer thread
    inserts the previous batch: sqlite3 releases the GIL inside SQLite, so FTS5
    indexing overlaps with the Python work instead of following it.
    """
    import queue
    import threading

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".index-", suffix=".sqlite")
    os.close(fd)
    todo: queue.Queue = queue.Queue(maxsize=4)
    failure: list[BaseException] = []
    stop = threading.Event()
    drained = threading.Event()  # the writer has taken the final None

    def writer() -> None:
        try:
            con = sqlite3.connect(tmp, isolation_level=None)
            try:
                con.execute("PRAGMA journal_mode=OFF")
                con.execute("PRAGMA synchronous=OFF")
                con.execute("PRAGMA cache_size=-200000")
                con.executescript(_DDL)
                con.execute("BEGIN")
                n = 0
                while (batch := todo.get()) is not None:
                    n += len(batch)
                    _flush(con, batch)
                drained.set()
                if stop.is_set():
                    return
                con.executemany("INSERT INTO meta VALUES (?,?)", [
                    ("schema", SCHEMA_VERSION), ("fingerprint", fingerprint), ("count", str(n))])
                con.execute("COMMIT")
                con.executescript(_POST_DDL)
                con.execute("ANALYZE")
            finally:
                con.close()
        except BaseException as e:  # handed to the main thread
            failure.append(e)
            stop.set()
            while not drained.is_set() and todo.get() is not None:  # unblock the producer
                pass

    thread = threading.Thread(target=writer, name="openpick-index-writer", daemon=True)
    thread.start()
    n = 0
    try:
        for batch in row_batches:
            if stop.is_set():
                break
            n += len(batch)
            todo.put(batch)
    except BaseException:
        stop.set()
        todo.put(None)
        thread.join()
        Path(tmp).unlink(missing_ok=True)
        raise
    todo.put(None)
    thread.join()
    if failure:
        Path(tmp).unlink(missing_ok=True)
        e = failure[0]
        if isinstance(e, sqlite3.IntegrityError):
            raise InvalidInput(f"cannot index the catalog: {e} (duplicate record id?)") from e
        raise e
    os.replace(tmp, path)
    return n


def sources_fingerprint(files: Iterable[Path], facts_name: str = "") -> str:
    h = hashlib.sha256(f"{SCHEMA_VERSION}\0{facts_name}\n".encode())
    for p in files:
        st = p.stat()
        h.update(f"{p}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _stored_fingerprint(path: Path) -> str | None:
    if not path.exists():
        return None
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = dict(con.execute("SELECT key, value FROM meta").fetchall())
        finally:
            con.close()
    except sqlite3.DatabaseError:
        return None  # corrupt or foreign file: rebuild over it
    if rows.get("schema") != SCHEMA_VERSION:
        return None
    return rows.get("fingerprint")


def ensure_index(path: Path | None = None, facts: OpennessFacts | None = None) -> Path:
    """The index of the user's catalog, rebuilt if any source file (or the provider of
    openness facts) changed."""
    from openpick.catalog.catalog import all_records, source_files

    provider = _provider(facts)
    path = path or default_path()
    fp = sources_fingerprint(source_files(), _provider_name(provider))
    if _stored_fingerprint(path) != fp:
        recs = all_records()
        order = sorted(recs, key=lambda r: (-_derive(r, provider)["openness"], r.id.lower()))
        build_index(path, order, fingerprint=fp, facts=provider)
    return path


# --- querying --------------------------------------------------------------------


@dataclass
class Query:
    """A catalog search. Empty fields do not filter."""

    text: str | None = None
    tasks: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    license: str | None = None          # an id, "osi" or "commercial"
    mof_class: int | None = None        # at least this class (1 = Class I, the most open)
    params: tuple[int | None, int | None] | None = None
    fits_bytes: float | None = None
    quant: str = "Q4_K_M"
    context: int = 4096
    base: str | None = None             # only descendants of this id
    sort: str = "auto"                  # auto | relevance | openness | size | date | name
    limit: int | None = None


@dataclass
class Hit:
    record: ModelRecord
    mof_class: int
    openness: float
    license_osi: bool | None
    license_commercial: bool | None
    memory_bytes: float | None
    rank: float | None = None


# sort name → (ORDER BY, index that yields that order)
SORTS = {
    "openness": ("m.openness DESC, m.id", "models_openness"),
    "size": ("m.parameters IS NULL, m.parameters, m.id", "models_params"),
    "date": ("m.release_date DESC, m.id", "models_date"),  # DESC puts unknown dates last
    "name": ("m.id", "models_id"),
}


def text_terms(text: str) -> list[str]:
    return [w for w in "".join(c if c.isalnum() else " " for c in text.lower()).split() if w]


def _match_expression(q: Query) -> tuple[str, list[str]]:
    """The FTS5 MATCH for the query's words and facet filters (user text never reaches
    FTS syntax: every word is quoted). Returns the expression and its terms."""
    parts: list[str] = []
    terms: list[str] = []
    words = text_terms(q.text or "")
    if words:
        # Whole words, except the last, which may still be being typed: a prefix.
        quoted = [f'"{w}"' for w in words[:-1]] + [f'"{words[-1]}"*']
        parts.append("{id name developer family description keywords} : (" + " AND ".join(quoted) + ")")
        terms += words[:-1] + [words[-1] + "*"]
    facets: list[str] = []
    for kind, values in (("task", q.tasks), ("domain", q.domains), ("lang", q.languages)):
        if values:
            toks = [facet_token(kind, v) for v in values]
            facets.append("(" + " OR ".join(toks) + ")" if len(toks) > 1 else toks[0])
            terms.append("|".join(toks))
    if q.license:
        lic = q.license.strip().lower()
        tok = {"osi": "xlicosi", "commercial": "xliccommercial"}.get(lic) or facet_token("lic", lic)
        facets.append(tok)
        terms.append(tok)
    if q.mof_class:
        facets.append(f"xmof{q.mof_class}")
        terms.append(f"xmof{q.mof_class}")
    if facets:
        parts.append("facets : (" + " AND ".join(facets) + ")")
    return " AND ".join(parts), terms


def _numeric_where(q: Query) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    args: list[Any] = []
    if q.params:
        lo, hi = q.params
        if lo is not None:
            where.append("m.parameters >= ?")
            args.append(lo)
        if hi is not None:
            where.append("m.parameters <= ?")
            args.append(hi)
    if q.fits_bytes is not None:
        bpw = memory.bits_per_weight(q.quant)
        where.append("m.parameters * ? + m.kv_per_token * ? + ? <= ?")
        args += [bpw / 8 * (1 + memory.OVERHEAD_FRACTION), q.context, memory.OVERHEAD_BYTES,
                 q.fits_bytes]
    if q.base:
        where.append(
            "m.rid IN (WITH RECURSIVE d(rid) AS ("
            " SELECT child FROM bases WHERE parent_id = ?"
            " UNION SELECT b.child FROM bases b JOIN d ON b.parent_rid = d.rid) SELECT rid FROM d)")
        args.append(q.base)
    return where, args


def _estimate(con: sqlite3.Connection, terms: list[str], total: int) -> float:
    """Estimated matches of a conjunction of terms, from FTS5's vocabulary (document
    counts per term), assuming the terms are independent."""
    est = float(total)
    for term in terms:
        docs = 0
        for alt in term.split("|"):
            if alt.endswith("*"):
                stem = alt[:-1]
                row = con.execute("SELECT coalesce(sum(doc), 0) FROM fts_vocab WHERE term >= ? AND term < ?",
                                  (stem, stem + "\U0010ffff")).fetchone()
            else:
                row = con.execute("SELECT coalesce(sum(doc), 0) FROM fts_vocab WHERE term = ?", (alt,)).fetchone()
            docs += row[0]
        est *= min(1.0, docs / max(total, 1))
    return est


def _plan(con: sqlite3.Connection, q: Query) -> tuple[str, list[Any], bool]:
    """Choose how to run the query. Returns SQL yielding (rid, rank), its args, and
    whether the caller must rank the candidates by bm25 itself.

    - relevance: FTS5 matches in rowid order, at most CANDIDATES, then bm25 in Python;
    - another sort, broad match: walk that sort's index, probing the match set;
    - another sort, narrow match: take the matches, then sort them.
    """
    match, terms = _match_expression(q)
    where, args = _numeric_where(q)
    sort = q.sort if q.sort != "auto" else ("relevance" if q.text and text_terms(q.text) else "name")
    if sort not in SORTS and sort != "relevance":
        raise InvalidInput(f"unknown sort {q.sort!r}; use relevance, openness, size, date or name")
    if sort == "relevance" and not q.text:
        sort = "name"
    if sort == "relevance":
        w = " AND ".join(["fts MATCH ?", *where])
        sql = (f"SELECT f.rowid, bm25(fts, {', '.join(map(str, BM25_WEIGHTS))}) FROM fts f "
               f"JOIN models m ON m.rid = f.rowid WHERE {w} ORDER BY f.rowid LIMIT {CANDIDATES}")
        return sql, [match, *args], True
    order, index = SORTS[sort]
    # A lineage filter is selective (a family, not the catalog): drive from it.
    walk = not q.base
    if match and walk:
        total = int(con.execute("SELECT value FROM meta WHERE key='count'").fetchone()[0])
        walk = _estimate(con, terms, total) > WALK_THRESHOLD
    if match and (q.text or not walk):
        # Narrow enough (or free text): take the match set, then sort it.
        where = ["m.rid IN (SELECT rowid FROM fts WHERE fts MATCH ?)", *where]
        args = [match, *args]
    elif match:
        # Broad filters: walk the sort index, probing each row's facets by primary key,
        # and stop after `limit` rows.
        fw, fa = _probe_where(q)
        where, args = [*fw, *where], [*fa, *args]
    hint = f" INDEXED BY {index}" if walk else ""
    sql = f"SELECT m.rid, NULL FROM models m{hint}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {order}"
    if q.limit:
        sql += f" LIMIT {int(q.limit)}"
    return sql, args, False


def _probe_where(q: Query) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    args: list[Any] = []
    for kind, values in (("task", q.tasks), ("domain", q.domains), ("lang", q.languages)):
        if values:
            marks = ",".join("?" * len(values))
            where.append(f"EXISTS (SELECT 1 FROM facets WHERE kind = ? AND value IN ({marks}) AND rid = m.rid)")
            args += [kind, *[v.lower() for v in values]]
    if q.license:
        lic = q.license.strip().lower()
        if lic == "osi":
            where.append("m.license_osi = 1")
        elif lic == "commercial":
            where.append("m.license_commercial = 1")
        else:
            where.append("m.license = ?")
            args.append(q.license.strip())
    if q.mof_class:
        where.append("m.mof_class BETWEEN 1 AND ?")
        args.append(q.mof_class)
    return where, args


def search(q: Query, path: Path | None = None, facts: OpennessFacts | None = None) -> list[Hit]:
    """Hits for `q` from the index at `path` (default: the user's catalog index, rebuilt
    first if stale, with `facts` or the registered openness facts)."""
    path = path or ensure_index(facts=facts)
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        sql, args, rank_here = _plan(con, q)
        rows = con.execute(sql, args).fetchall()
        if rank_here:
            rows.sort(key=lambda r: (r[1], r[0]))
        if q.limit:
            rows = rows[: q.limit]
        return _hits(con, rows, q)
    finally:
        con.close()


def _hits(con: sqlite3.Connection, rows: list[tuple[int, float | None]], q: Query) -> list[Hit]:
    hits: list[Hit] = []
    for rid, rank in rows:
        rec_json, mof, openness, osi, comm = con.execute(
            "SELECT r.record, m.mof_class, m.openness, m.license_osi, m.license_commercial "
            "FROM records r JOIN models m ON m.rid = r.rid WHERE r.rid = ?", (rid,)).fetchone()
        rec = ModelRecord.model_validate_json(rec_json)
        mem = memory.estimate_bytes(rec.parameters, rec.features, q.quant, q.context)
        hits.append(Hit(rec, mof or 0, openness or 0.0, None if osi is None else bool(osi),
                        None if comm is None else bool(comm), mem, rank))
    return hits
