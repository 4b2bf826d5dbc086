"""Every DynamoDB call of the product is in the online layer's DynamoDB implementation:
no other module calls a boto3 client's operations, makes a client, or imports boto3 or
botocore; the lookup wires its store once, not per request."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PRODUCT = [REPO / folder for folder in ("featurestore", "sync", "lookup", "gates", "apps")]
ONLINE = REPO / "featurestore" / "online"
OPERATIONS = {"batch_write_item", "put_item", "update_item", "delete_item", "get_item",
              "query", "scan", "batch_get_item", "transact_write_items",
              "transact_get_items", "execute_statement", "batch_execute_statement",
              "describe_table", "create_table", "delete_table", "client", "resource"}
SOURCES = sorted(path for folder in PRODUCT for path in folder.rglob("*.py")
                 if ONLINE not in path.parents)


def _dynamodb_calls(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = node.func.attr
            # a warehouse or a dialect also has `query`; DynamoDB's takes TableName=
            keywords = {k.arg for k in node.keywords}
            if name in OPERATIONS and (name in ("client", "resource") or "TableName" in keywords
                                       or "RequestItems" in keywords
                                       or "TransactItems" in keywords):
                found.append(f"line {node.lineno}: .{name}(...)")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [
                alias.name for alias in node.names]
            found += [f"line {node.lineno}: import {n}" for n in names
                      if n.split(".")[0] in ("boto3", "botocore")]
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(REPO)))
def test_no_dynamodb_call_outside_the_online_layer(path):
    assert _dynamodb_calls(path) == [], (
        f"{path.relative_to(REPO)} calls DynamoDB itself; go through the OnlineStore "
        "(featurestore/online/store.py)")


def test_the_check_sees_a_raw_call(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("client.put_item(TableName='t', Item={})\n"
                     "warehouse.query('select 1')\n"
                     "online.client(max_attempts=1)\n"
                     "import botocore.exceptions\n")
    assert sorted(_dynamodb_calls(probe)) == ["line 1: .put_item(...)",
                                              "line 3: .client(...)",
                                              "line 4: import botocore.exceptions"]


def test_the_lookup_binds_its_store_once_not_per_request():
    """``LookupApp`` hands its store to the serving pointers when it is built; no request
    path assigns a store."""
    source = (REPO / "lookup" / "handler.py").read_text()
    assigned = [node for node in ast.walk(ast.parse(source))
                if isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Attribute) and t.attr == "store"
                    and isinstance(t.value, ast.Attribute) for t in node.targets)]
    assert assigned == []
