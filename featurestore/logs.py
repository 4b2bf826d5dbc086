"""How featurestore's application logs look: one module configures them, for two readers.

- **The CLI** (a person at a terminal, or CI): human text by default, each record the
  plain sentence it is, on stderr, without Python's ``WARNING:featurestore.x:`` prefix;
  ``--log-format json`` (or FEATURESTORE_LOG_FORMAT=json) gives one JSON object per line
  for a log shipper. ``configure_cli`` puts one handler on the root logger, so a library
  that calls ``logging.basicConfig`` or ``logging.warning`` later adds no second, prefixed
  copy of each line.
- **Lambda**: JSON by default. With the function's ``LoggingConfig: {LogFormat: JSON}``
  (deploy/template.yaml) the runtime itself writes each record as JSON, with the request
  id; on a function left in Text format, ``configure_lambda`` gives featurestore's records
  this module's JSON formatter instead.

What a command prints as its result or progress (``click.echo``) is not a log record,
and neither are the serving log's lines nor the EMF metrics the Lambda writes to stdout:
each is its own format, whatever is chosen here.

Messages are text from anywhere (a key name, a path, an error from DynamoDB): in text, a
control character is escaped, so one record is one line and cannot forge another; JSON
escapes them by itself.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys

LOG_FORMATS = ("text", "json")
_OURS = "_featurestore_handler"  # marks the handlers this module installed
# A LogRecord's own attributes; anything else on a record came from `extra=` and is kept.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "taskName"}
_CONTROL = {code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F)} | {
    ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"}


def escape_line(text: str) -> str:
    """``text`` on one line: control characters (newlines included) written as escapes."""
    return text.translate(_CONTROL)


class TextFormatter(logging.Formatter):
    """The message as the sentence it is; a traceback, when there is one, under it."""

    def format(self, record: logging.LogRecord) -> str:
        text = escape_line(record.getMessage())
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``time`` (UTC, ISO-8601 with milliseconds), ``level``,
    ``logger``, ``message``, the record's ``extra=`` fields, and ``exception``."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = dt.datetime.fromtimestamp(record.created, dt.UTC)
        document = {"time": stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp:%f}"[:3] + "Z",
                    "level": record.levelname, "logger": record.name,
                    "message": record.getMessage()}
        for name, value in vars(record).items():
            if name not in _STANDARD and name not in document and not name.startswith("_"):
                document[name] = value
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, default=str)


def formatter(log_format: str) -> logging.Formatter:
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format {log_format!r}: use one of {', '.join(LOG_FORMATS)}")
    return JsonFormatter() if log_format == "json" else TextFormatter()


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record comes (click's test runner and
    pytest swap it), as logging's own last-resort handler does."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):  # StreamHandler.__init__ sets it; the property wins
        pass


def _install(logger: logging.Logger, handler: logging.Handler) -> None:
    """``handler`` replaces the one this module put on ``logger`` before (idempotent)."""
    for old in [h for h in logger.handlers if getattr(h, _OURS, False)]:
        logger.removeHandler(old)
    setattr(handler, _OURS, True)
    logger.addHandler(handler)


def configure_cli(log_format: str = "text") -> None:
    """The CLI's logging: warnings and errors (featurestore's, and its libraries') on
    stderr, as plain sentences or JSON lines.

    The CLI owns the terminal: a plain stream handler a library put on the root logger
    for stdout or stderr (``logging.basicConfig()``, which dbt's event tracker calls when
    it is imported) is taken off, so no record is printed twice, once with Python's
    ``WARNING:name:`` prefix. Other handlers (a file, a test's capture) stay.
    """
    handler = _StderrHandler()
    handler.setFormatter(formatter(log_format))
    root = logging.getLogger()
    for other in list(root.handlers):
        if type(other) is logging.StreamHandler and other.stream in (
                sys.stderr, sys.stdout, sys.__stderr__, sys.__stdout__):
            root.removeHandler(other)
    _install(root, handler)
    root.setLevel(logging.WARNING)


def configure_lambda(runtime_format: str | None, log_format: str | None = None,
                     stream=None) -> bool:
    """The Lambda's logging; True when this module's handler was installed.

    ``runtime_format`` is the function's LoggingConfig LogFormat (the runtime's
    AWS_LAMBDA_LOG_FORMAT: ``JSON`` or ``Text``); ``log_format`` FEATURESTORE_LOG_FORMAT
    (default ``json``). When the runtime already writes JSON and JSON is wanted, its own
    handler (which adds the request id) is left to do it. Otherwise featurestore's
    records get a handler of their own, on ``stream`` (stdout: the function's log), and
    stop there, so the runtime's text line does not repeat them.
    """
    wanted = (log_format or "json").lower()
    if wanted == "json" and (runtime_format or "").upper() == "JSON":
        return False
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(formatter(wanted))
    logger = logging.getLogger("featurestore")
    _install(logger, handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return True
