"""Application logs (featurestore/logs.py): plain sentences or JSON lines in the CLI, JSON
in Lambda, and never Python's ``WARNING:featurestore.x:`` prefix."""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import subprocess
import sys

import pytest

from featurestore.logs import JsonFormatter, TextFormatter, configure_lambda
from tests.conftest import REPO_ROOT

NOTE = ("note: DynamoDB Local listens on port {port} of every network interface, not only "
        "loopback (its launcher has no option to choose the address); other machines that "
        "can reach this one can read and write its tables. Close the port to them (a "
        "firewall) on a network you do not trust.")


def record(message: str, *args, level=logging.WARNING, exc_info=None, **extra):
    made = logging.LogRecord("featurestore.lookup", level, __file__, 1, message, args,
                             exc_info)
    made.created = 1779472800.5  # 2026-05-22T18:00:00.5Z
    for name, value in extra.items():
        setattr(made, name, value)
    return made


def test_json_lines_carry_time_level_logger_message_and_extras():
    line = JsonFormatter().format(record("lookup %s degraded: %s", "r-1", "down\nnext",
                                         request_id="r-1"))
    assert "\n" not in line  # a hostile message cannot start a second record
    assert json.loads(line) == {"time": "2026-05-22T18:00:00.500Z", "level": "WARNING",
                                "logger": "featurestore.lookup",
                                "message": "lookup r-1 degraded: down\nnext",
                                "request_id": "r-1"}


def test_json_lines_keep_the_traceback():
    try:
        raise ValueError("boom")
    except ValueError:
        line = JsonFormatter().format(record("failed", level=logging.ERROR,
                                             exc_info=sys.exc_info()))
    document = json.loads(line)
    assert document["level"] == "ERROR"
    assert document["exception"].startswith("Traceback (most recent call last):")
    assert document["exception"].endswith("ValueError: boom")


def test_text_is_the_sentence_on_one_line():
    assert TextFormatter().format(record("key `%s` refused", "a\nWARNING:forged\x1b[2J")) == \
        "key `a\\nWARNING:forged\\x1b[2J` refused"


@pytest.fixture
def featurestore_logger():
    """The `featurestore` logger as it was, restored after the test."""
    logger = logging.getLogger("featurestore")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield logger
    logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]


def test_lambda_in_text_format_gets_json_records(featurestore_logger):
    stream = io.StringIO()
    assert configure_lambda("Text", None, stream=stream) is True
    assert configure_lambda("Text", None, stream=stream) is True  # idempotent: one handler
    logging.getLogger("featurestore.lookup").warning("lookup %s degraded", "r-9")
    (line,) = stream.getvalue().splitlines()
    document = json.loads(line)
    assert (document["level"], document["logger"], document["message"]) == (
        "WARNING", "featurestore.lookup", "lookup r-9 degraded")
    assert featurestore_logger.propagate is False  # not again as the runtime's text line


def test_lambda_in_json_format_leaves_the_runtime_to_write_json(featurestore_logger):
    handlers = list(featurestore_logger.handlers)
    assert configure_lambda("JSON", None) is False
    assert configure_lambda("JSON", "json") is False
    assert featurestore_logger.handlers == handlers and featurestore_logger.propagate is True
    stream = io.StringIO()  # text asked for by name: this module's text formatter
    assert configure_lambda("JSON", "text", stream=stream) is True
    logging.getLogger("featurestore.lookup").warning("plain")
    assert stream.getvalue() == "plain\n"


def test_the_lambda_logs_json_from_its_cold_start(tmp_path):
    """The handler module as Lambda imports it (AWS_LAMBDA_FUNCTION_NAME set, the
    runtime's format left at Text): a misconfiguration is logged as one JSON line."""
    missing = tmp_path / "no-registry.json"
    env = {**os.environ, "AWS_LAMBDA_FUNCTION_NAME": "lookup", "AWS_REGION": "us-east-1",
           "FEATURESTORE_REGISTRY": str(missing)}
    env.pop("AWS_LAMBDA_LOG_FORMAT", None)
    env.pop("FEATURESTORE_LOG_FORMAT", None)
    done = subprocess.run([sys.executable, "-c", "import featurestore.lookup.handler"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    (line,) = [text for text in done.stdout.splitlines() if text.strip()]
    document = json.loads(line)
    assert (document["level"], document["logger"]) == ("ERROR", "featurestore.lookup")
    assert document["message"].startswith("lookup handler is misconfigured: ")
    assert str(missing) in document["message"]
    assert done.stderr == ""


# -- the CLI: DynamoDB Local's network note, after dbt's tracker called basicConfig --------
CLI_AFTER_DBT = ("import snowplow_tracker\n"  # what dbt imports: it calls logging.basicConfig()
                 "from featurestore.apps.cli import main\n"
                 "main()")


@pytest.fixture
def small_project(tmp_path):
    root = tmp_path / "project"
    shutil.copytree(REPO_ROOT / "feature_defs", root / "feature_defs")
    shutil.copy(REPO_ROOT / "dbt_project.yml", root)
    (root / "node_modules").symlink_to(REPO_ROOT / "node_modules")
    yield root
    subprocess.run([sys.executable, "-c", "from featurestore.apps.cli import main; main()",
                    "--project-dir", str(root), "online", "stop"], capture_output=True,
                   timeout=120)


def start_in_memory(root, *options: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-c", CLI_AFTER_DBT, *options, "--project-dir",
                           str(root), "online", "start", "--in-memory"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done


@pytest.mark.slow
def test_cli_warnings_are_plain_sentences_without_a_logger_prefix(small_project):
    done = start_in_memory(small_project)
    port = json.loads((small_project / "warehouse" / "dynamodb-local.json").read_text())["port"]
    assert done.stderr == NOTE.format(port=port) + "\n"
    assert "WARNING:" not in done.stderr


@pytest.mark.slow
def test_cli_log_format_json_writes_one_json_object_a_line(small_project):
    done = start_in_memory(small_project, "--log-format", "json")
    port = json.loads((small_project / "warehouse" / "dynamodb-local.json").read_text())["port"]
    (line,) = done.stderr.splitlines()
    document = json.loads(line)
    assert (document["level"], document["logger"], document["message"]) == (
        "WARNING", "featurestore.online.local", NOTE.format(port=port))
    assert done.stdout.startswith("DynamoDB Local is running at http://127.0.0.1:")
