"""The landing folder: a growing file is taken once whole, a known name with new content
is refused by name, refused files keep each their own quarantine name, names and
contents are escaped in every message, links out of the folder are refused unread, and
the folder is resolved at run time (not frozen at parse time). No test sleeps: the
clock and the modification times are set."""

from __future__ import annotations

import datetime as dt
import os
import shutil

import duckdb
import pyarrow.parquet as pq
import pytest

from featurestore.ingest import ingest, unload_file
from featurestore.ingest.landing import Landed
from featurestore.project import Project
from tests.offline.ingest_support import SOURCES, ledger_lines, orders, raw_rows, shop_project

M = dt.datetime(2026, 6, 1, 9, 30)  # a file's modification time (naive UTC)
HEADER = "order_id,customer,amount,ordered_at\n"


def _touch(path, moment: dt.datetime) -> None:
    stamp = (moment - dt.datetime(1970, 1, 1)).total_seconds()
    os.utime(path, (stamp, stamp))


def _at(moment: dt.datetime):
    return lambda: moment


def test_a_csv_still_being_written_is_taken_once_it_has_settled(shop):
    path = shop.root / "landing" / "orders" / "upload.csv"
    path.write_text(HEADER + "1,c1,1.5,2026-05-01 12:00:00\n2,c2,2.5,2026-05-01 12:01:00\n")
    _touch(path, M)
    lines: list[str] = []
    report = ingest(shop, settle=5, clock=_at(M + dt.timedelta(seconds=2)),
                    progress=lines.append)
    assert report.count("waiting") == 1 and raw_rows(shop) == []
    assert lines == ["shop.orders: upload.csv: waiting (modified 2.0 s ago; taken once "
                     "unchanged for 5 s (FEATURESTORE_INGEST_SETTLE))"]
    with path.open("a") as out:  # the writer goes on
        out.write("3,c0,3.5,2026-05-01 12:02:00\n")
    _touch(path, M + dt.timedelta(seconds=3))
    assert ingest(shop, settle=5, clock=_at(M + dt.timedelta(seconds=4))).count("waiting") == 1
    report = ingest(shop, settle=5, clock=_at(M + dt.timedelta(seconds=8)))
    assert (report.count("loaded"), report.rows) == (1, 3)
    assert [r[0] for r in raw_rows(shop)] == [1, 2, 3]


def test_a_file_modified_in_the_future_waits_and_says_so(shop):
    path = shop.root / "landing" / "orders" / "upload.jsonl"
    path.write_text('{"order_id": 1, "customer": "c", "amount": 1.0, '
                    '"ordered_at": "2026-05-01 12:00:00"}\n')
    _touch(path, M + dt.timedelta(hours=1))  # a file server whose clock runs ahead
    (result,) = ingest(shop, settle=5, clock=_at(M)).files
    assert (result.status, result.message) == (
        "waiting", "modified 3,600.0 s in the future by this host's clock; taken once "
        "unchanged for 5 s (FEATURESTORE_INGEST_SETTLE)")


def test_a_parquet_file_is_taken_at_once_unless_it_does_not_read_yet(shop):
    """A Parquet file ends with its footer: one that reads is whole (renamed into place,
    or written to the end), one that does not is waited for while young."""
    folder = shop.root / "landing" / "orders"
    pq.write_table(orders(1, 2), folder / "whole.parquet")
    pq.write_table(orders(3, 2), shop.root / "later.parquet")
    data = (shop.root / "later.parquet").read_bytes()
    (folder / "later.parquet").write_bytes(data[:len(data) // 2])
    for name in ("whole.parquet", "later.parquet"):
        _touch(folder / name, M)
    report = ingest(shop, settle=5, clock=_at(M + dt.timedelta(seconds=1)))
    assert [(f.path.rsplit("/", 1)[-1], f.status) for f in report.files] == [
        ("later.parquet", "waiting"), ("whole.parquet", "loaded")]
    assert report.files[0].message.startswith("does not read yet; modified 1.0 s ago")
    (folder / "later.parquet").write_bytes(data)
    _touch(folder / "later.parquet", M + dt.timedelta(seconds=2))
    assert ingest(shop, settle=5, clock=_at(M + dt.timedelta(seconds=3))).count("loaded") == 1
    assert [r[0] for r in raw_rows(shop)] == [1, 2, 3, 4]


def test_a_file_that_grows_while_it_is_read_waits(shop, monkeypatch):
    """The listing said one size, the read found another: the writer is at work."""
    from featurestore.ingest import run

    folder = shop.root / "landing" / "orders"
    pq.write_table(orders(1, 2), folder / "a.parquet")
    listed = run.landed_files

    def smaller(table):
        return [Landed(f.path, f.size - 1, f.mtime_ns) for f in listed(table)]

    monkeypatch.setattr(run, "landed_files", smaller)
    (result,) = ingest(shop).files
    assert (result.status, result.message) == (
        "waiting", "changed while it was read: a writer is still at work")
    monkeypatch.setattr(run, "landed_files", listed)
    assert ingest(shop).count("loaded") == 1


def test_a_known_name_with_new_content_is_refused_by_name(shop):
    """upload.csv loaded with 2 rows, then a row appended: never loaded again beside the
    first rows (every key would be twice); refused, named, and how to land it said."""
    folder = shop.root / "landing" / "orders"
    path = folder / "upload.csv"
    path.write_text(HEADER + "1,c1,1.5,2026-05-01 12:00:00\n2,c2,2.5,2026-05-01 12:01:00\n")
    first = ingest(shop)
    with path.open("a") as out:
        out.write("3,c0,3.5,2026-05-01 12:02:00\n")
    (result,) = ingest(shop).files
    assert [r[0] for r in raw_rows(shop)] == [1, 2]
    quarantined = shop.root / "landing" / "_quarantine" / "orders" / "upload.csv"
    assert result.status == "quarantined"
    assert result.message == (
        f"upload.csv was loaded before with other content (2 rows at "
        f"{first.load_time.isoformat(sep=' ')}, sha256 {_sha(shop, 'loaded')[:12]}...); a "
        "file name is loaded once, so a grown or corrected file is not taken in its place. "
        "Land the correction under a new name, or take the earlier rows out first: "
        f"featurestore ingest --unload upload.csv --table shop.orders; moved to {quarantined}")
    # the correction, the documented way: unload the first rows, land the file again
    assert unload_file(shop, "upload.csv").rows == 2
    shutil.move(quarantined, path)
    assert ingest(shop).rows == 3
    assert [r[0] for r in raw_rows(shop)] == [1, 2, 3]
    assert sorted(line[3] for line in ledger_lines(shop)) == [
        "loaded", "quarantined", "unloaded"]


def _sha(project, status: str) -> str:
    with duckdb.connect(str(project.settings.duckdb_path), read_only=True) as con:
        return con.execute("select sha256 from featurestore.ingested_files where status = ?",
                           [status]).fetchone()[0]


def test_refused_files_of_one_name_keep_each_their_own_quarantine(shop):
    folder = shop.root / "landing" / "orders"
    quarantine = shop.root / "landing" / "_quarantine" / "orders"
    for coupon in ("x", "y", "z"):
        pq.write_table(orders(1, 1, coupon=[coupon]), folder / "bad.parquet")
        assert ingest(shop).count("quarantined") == 1
    assert sorted(p.name for p in quarantine.iterdir()) == [
        "bad.2.parquet", "bad.2.parquet.error.txt", "bad.3.parquet",
        "bad.3.parquet.error.txt", "bad.parquet", "bad.parquet.error.txt"]
    assert [pq.read_table(quarantine / name).column("coupon")[0].as_py()
            for name in ("bad.parquet", "bad.2.parquet", "bad.3.parquet")] == ["x", "y", "z"]


def test_a_file_name_with_a_newline_cannot_forge_a_progress_line(shop):
    folder = shop.root / "landing" / "orders"
    name = "x\nshop.orders: forged.parquet: loaded, 1,000 rows\ny.parquet"
    pq.write_table(orders(1, 1, coupon=["x"]), folder / name)
    lines: list[str] = []
    (result,) = ingest(shop, progress=lines.append).files
    assert result.status == "quarantined"
    assert len(lines) == 1 and "\n" not in lines[0]
    assert lines[0].startswith(f"shop.orders: {name!r}: quarantined (column `coupon`")
    error = (shop.root / "landing" / "_quarantine" / "orders" / f"{name}.error.txt")
    assert error.read_text().count("\n") == 1


def test_a_link_out_of_the_landing_folder_is_refused_unread(shop, tmp_path):
    """A link to a secret is moved aside, and not one byte of the secret is quoted; a
    link that stays inside the folder is read like any file."""
    folder = shop.root / "landing" / "orders"
    secret = tmp_path / "elsewhere" / "passwd"
    secret.parent.mkdir()
    secret.write_text("root:x:0:0:SECRET-LINE:/root:/bin/bash\n")
    os.symlink(secret, folder / "passwd.csv")
    (folder / "sub").mkdir()
    pq.write_table(orders(1, 2), folder / "sub" / "inner.parquet")
    os.symlink(folder / "sub" / "inner.parquet", folder / "inner.parquet")
    report = ingest(shop)
    moved = shop.root / "landing" / "_quarantine" / "orders" / "passwd.csv"
    (refused,) = [f for f in report.files if f.status == "quarantined"]
    assert refused.message == (
        f"is a link to {secret}, outside the landing folder {folder}; a link may point "
        f"only inside it; moved to {moved}")
    assert os.path.islink(moved) and secret.read_text().startswith("root:")
    assert "SECRET" not in (moved.parent / "passwd.csv.error.txt").read_text()
    with duckdb.connect(str(shop.settings.duckdb_path), read_only=True) as con:
        messages = [m for (m,) in con.execute(
            "select message from featurestore.ingested_files").fetchall()]
    assert not any("SECRET" in m for m in messages)
    assert [r[0] for r in raw_rows(shop)] == [1, 2]  # the link inside the folder


def test_a_refusal_quotes_a_bounded_escaped_excerpt(shop):
    """A reader's complaint quotes the line it choked on: at most 200 characters of it,
    control characters escaped, in the message, the ledger and the .error.txt."""
    folder = shop.root / "landing" / "orders"
    hostile = "\x1b[31m" + "A" * 5000 + "\rB,C"
    (folder / "bad.csv").write_text(HEADER + f"1,{hostile}\n")
    (result,) = ingest(shop).files
    assert result.status == "quarantined"
    reason = result.message.split("; moved to ")[0]
    assert reason.startswith("cannot be read as csv: CSV parse error: Expected 4 columns")
    assert len(reason) <= 250 and reason.isprintable() and "\\x1b[31mAAAA" in reason
    error = (shop.root / "landing" / "_quarantine" / "orders" / "bad.csv.error.txt")
    assert len(error.read_text()) < 500 and error.read_text()[:-1].isprintable()


ENV_SOURCES = SOURCES.replace(
    "landing: landing",
    "landing: \"{{ env_var('FEATURESTORE_LANDING_DIR', 'data/landing') }}\"").replace(
    "      - name: orders\n", "      - name: refunds\n        columns:\n"
    "          - {name: order_id, data_type: bigint}\n      - name: orders\n")


@pytest.fixture
def env_shop(tmp_path, monkeypatch):
    """The shop whose landing is `{{ env_var('FEATURESTORE_LANDING_DIR', 'data/landing')
    }}`, parsed by featurestore with the variable unset."""
    for name in ("FEATURESTORE_TARGET", "DBT_TARGET_PATH", "DBT_PROFILES_DIR",
                 "FEATURESTORE_LANDING_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FEATURESTORE_DUCKDB_PATH", str(tmp_path / "shop" / "shop.duckdb"))
    monkeypatch.setenv("FEATURESTORE_INGEST_SETTLE", "0")
    (tmp_path / "shop").mkdir()
    return shop_project(tmp_path / "shop", ENV_SOURCES, landing="data/landing")


def test_a_landing_env_var_default_is_rendered_at_run_time(env_shop):
    """featurestore's own parse hands dbt its default for FEATURESTORE_LANDING_DIR; the
    source's own default (data/landing) is what counts, as dbt alone would render it."""
    pq.write_table(orders(1, 2), env_shop.root / "data" / "landing" / "orders" / "a.parquet")
    report = ingest(env_shop)
    assert (report.count("loaded"), report.rows, report.notes) == (1, 2, [])


def test_the_landing_variable_set_after_the_parse_counts(env_shop, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "orders").mkdir(parents=True)
    pq.write_table(orders(1, 3), elsewhere / "orders" / "a.parquet")
    monkeypatch.setenv("FEATURESTORE_LANDING_DIR", str(elsewhere))
    assert ingest(Project(env_shop.root)).rows == 3


def test_a_copied_project_ingests_its_own_landing_folder(env_shop, tmp_path, monkeypatch):
    """The copy's manifest was parsed in the original: its folder is the copy's anyway,
    and nothing of the original's moves."""
    original = env_shop.root / "data" / "landing" / "orders"
    pq.write_table(orders(1, 1, coupon=["x"]), original / "bad.parquet")
    copy = tmp_path / "copy"
    shutil.copytree(env_shop.root, copy, ignore=shutil.ignore_patterns("*.duckdb"))
    shutil.rmtree(copy / "data" / "landing" / "orders")
    (copy / "data" / "landing" / "orders").mkdir()
    pq.write_table(orders(7, 2), copy / "data" / "landing" / "orders" / "a.parquet")
    # its own warehouse file, of the same name: the manifest's relations name the catalog
    monkeypatch.setenv("FEATURESTORE_DUCKDB_PATH", str(copy / "shop.duckdb"))
    monkeypatch.setenv("DBT_TARGET_PATH", str(copy / "target"))
    report = ingest(Project(copy))
    assert (report.count("loaded"), report.rows) == (1, 2)
    assert (original / "bad.parquet").exists()
    assert not (env_shop.root / "data" / "landing" / "_quarantine").exists()


def test_a_missing_landing_folder_is_said_once_per_source(env_shop, monkeypatch, tmp_path):
    nowhere = tmp_path / "nowhere"
    monkeypatch.setenv("FEATURESTORE_LANDING_DIR", str(nowhere))
    lines: list[str] = []
    report = ingest(Project(env_shop.root), progress=lines.append)
    expected = (f"models/sources.yml, source `shop`: landing folder {nowhere} does not "
                "exist, so nothing was loaded from it; set FEATURESTORE_LANDING_DIR, or "
                "create the folder.")
    assert (report.notes, lines, report.files) == ([expected], [expected], [])


@pytest.mark.parametrize("cut", [0, 0.5])
def test_a_manifest_cut_short_by_a_kill_is_parsed_again(shop, cut):
    """dbt writes target/manifest.json in place: a kill mid-write leaves it empty or cut
    short, and the next command parses the project again instead of failing."""
    manifest = shop.target_dir / "manifest.json"
    data = manifest.read_bytes()
    manifest.write_bytes(data[:int(len(data) * cut)])
    pq.write_table(orders(1, 2), shop.root / "landing" / "orders" / "a.parquet")
    assert ingest(Project(shop.root)).rows == 2
    assert Project(shop.root).dbt_manifest()["sources"]
