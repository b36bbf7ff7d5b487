"""`openpick catalog ...`: import records from MOF, OSAI index, model cards and GGUF files; export."""

from __future__ import annotations

from pathlib import Path
import typer

from openpick.cli.main import app
from openpick.cli.output import console, err_console, print_json
from openpick.errors import OpenpickError

catalog_app = typer.Typer(help="Import and export catalog records.", no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")


@catalog_app.command("import")
def import_cmd(
    paths: list[Path] = typer.Argument(..., help="Files or folders: .gguf, README.md, MOF or OSAI YAML."),
    record_id: str | None = typer.Option(None, "--id", help="Record id (org/name) for what is imported."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Import records; a bad file is reported and the others still imported."""
    from openpick.catalog.importers import import_paths

    results = import_paths(paths, record_id=record_id)
    failed = [r for r in results if not r.ok]
    if json_out:
        print_json([r.model_dump(mode="json") for r in results])
    else:
        for r in results:
            if r.ok:
                console.print(f"[green]imported[/green] {r.path} → {', '.join(r.ids)}", highlight=False, soft_wrap=True)
                for w in r.warnings:
                    console.print(f"  [yellow]warning[/yellow]: {w}", highlight=False, soft_wrap=True)
            else:
                err_console.print(f"[red]failed[/red] {r.error}", highlight=False, soft_wrap=True)
        summary = f"{len(results) - len(failed)} imported, {len(failed)} failed"
        (err_console if failed else console).print(summary)
    if failed:
        raise typer.Exit(code=1)


def export_text(record_id: str, fmt: str) -> str:
    """The record (bundled and imported, merged) as MOF YAML, openpick YAML or JSON."""
    import json

    from openpick.catalog.catalog import get_record, record_to_yaml

    record = get_record(record_id)
    if fmt == "mof":
        try:
            from openpick.catalog.importers.mof import to_mof_yaml
        except ImportError as e:  # pragma: no cover - mof.py ships with openpick
            raise OpenpickError(f"MOF export is not available: {e}") from e
        return to_mof_yaml(record)
    if fmt == "yaml":
        return record_to_yaml(record)
    return json.dumps(record.model_dump(mode="json", exclude_none=True), indent=2, ensure_ascii=False) + "\n"


@catalog_app.command("export")
def export_cmd(
    record_id: str = typer.Argument(..., help="Model id, e.g. mistralai/Mistral-7B-v0.1."),
    fmt: str = typer.Option("yaml", "--format", "-f", help="mof, yaml or json."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
) -> None:
    """Print one record as MOF release YAML, openpick record YAML or JSON."""
    if fmt not in ("mof", "yaml", "json"):
        raise typer.BadParameter(f"unknown format {fmt!r}; use mof, yaml or json", param_hint="--format")
    text = export_text(record_id, fmt)
    if output:
        from openpick.catalog.catalog import write_atomic

        write_atomic(output, text)
        console.print(f"wrote {output}", highlight=False, soft_wrap=True)
    else:
        typer.echo(text, nl=not text.endswith("\n"))


def sources_summary() -> dict:
    from openpick.catalog.catalog import imported_dir, imported_files
    from openpick.catalog.loader import bundled_dir, load_bundled, load_record_file

    imported = []
    for path in imported_files():
        try:
            rec = load_record_file(path)
            imported.append({"file": str(path), "id": rec.id, "sources": rec.sources,
                             "conflicts": len(rec.conflicts)})
        except OpenpickError as e:
            imported.append({"file": str(path), "error": str(e)})
    return {
        "bundled": {"dir": str(bundled_dir()), "count": len(load_bundled())},
        "imported": {"dir": str(imported_dir()), "count": len(imported), "records": imported},
    }


@catalog_app.command("sources")
def sources_cmd(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Where the catalog comes from: bundled records and imported files."""
    info = sources_summary()
    if json_out:
        print_json(info)
        return
    console.print(f"bundled: {info['bundled']['count']} records ({info['bundled']['dir']})", highlight=False, soft_wrap=True)
    console.print(f"imported: {info['imported']['count']} records ({info['imported']['dir']})", highlight=False, soft_wrap=True)
    for rec in info["imported"]["records"]:
        if "error" in rec:
            console.print(f"  [red]unreadable[/red] {rec['error']}", highlight=False, soft_wrap=True)
        else:
            extra = f", {rec['conflicts']} conflict(s)" if rec["conflicts"] else ""
            console.print(f"  {rec['id']} from {', '.join(rec['sources'])}{extra}", highlight=False, soft_wrap=True)
