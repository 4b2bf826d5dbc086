"""Landing files into raw tables, each exactly once, with rows that fit and a watermark
no producer can move.

Raw events arrive as files (Parquet, CSV or JSON lines) in a landing folder per source
table: a local folder, or an S3 prefix. The tables are dbt sources, declared where dbt
declares them, with two additions featurestore reads:

    sources:
      - name: demo
        schema: raw
        meta:
          featurestore:
            landing: "{{ env_var('FEATURESTORE_LANDING_DIR', 'warehouse/landing') }}"
        tables:
          - name: transactions          # files in <landing>/transactions/
            config: {loaded_at_field: loaded_at}
            columns:
              - {name: transaction_id, data_type: bigint, data_tests: [not_null]}

- ``meta.featurestore.landing`` (on the source, or a table) is the landing folder, local
  or ``s3://bucket/prefix`` (pyarrow's S3 options may follow, e.g. ``?region=eu-west-1``);
  each table reads the sub-folder of its name. It is rendered at run time, with this
  run's environment, relative to the project that runs (sources.py).
- every column declares its ``data_type``: the raw table is created from them, and every
  value must fit its type exactly; a ``not_null`` data test marks a column every row
  must fill (checks.py).
- the source's ``loaded_at_field`` is the loader's: ingest assigns it, keeping a
  producer's value only inside the run's window (watermark.py).

The modules, in the order a file meets them: ``sources`` (which tables, which folder),
``landing`` (which files are whole; links; the quarantine), ``formats`` (bytes to rows,
one missing-value rule), ``checks`` (rows against the declaration, in SQL),
``watermark`` (loaded_at), ``ledger`` (``featurestore.ingested_files``, the file column of
the raw tables, unloading), ``run`` (one run), ``unload`` (``--unload``), ``messages``
(every quotation bounded and escaped).

Exactly once: a file (known by its table, name and content hash, wherever the landing
folder is mounted) has its rows and its line in ``featurestore.ingested_files`` written
in one warehouse transaction, so a kill between load and record loses both, and the next
run loads the file again, once. A file that does not fit is moved to
``<landing>/_quarantine/<table>/`` beside a ``.error.txt`` saying why, recorded, and the
other files load on.
"""

from featurestore.ingest.landing import FORMATS, QUARANTINE, landed_files
from featurestore.ingest.ledger import FILE_COLUMN, LEDGER, Unloaded, ensure_tables
from featurestore.ingest.run import FileResult, IngestReport, ingest
from featurestore.ingest.sources import RawTable, raw_tables
from featurestore.ingest.unload import unload_file

__all__ = ["FILE_COLUMN", "FORMATS", "LEDGER", "QUARANTINE", "FileResult", "IngestReport",
           "RawTable", "Unloaded", "ensure_tables", "ingest", "landed_files", "raw_tables",
           "unload_file"]
