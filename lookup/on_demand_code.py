"""One on-demand view's per-key answer, generated: the stored inputs read, the
expressions evaluated, the statuses worked out and the answers written, as one Python
function per view and list of features asked (lookup/on_demand.py's ``OnDemandPlan``).

lookup/on_demand.py's ``answer`` does the same with loops over the plan (a row dict per
key, a tuple per step, a status tuple per group); a 100-key batch of 10 expressions paid
about 5 µs a key for them. Here each of those is a line: an input is read straight from
its item's values (or its default), each expression is spelled inline by
featurestore/ondemand/codegen.py, and each answer is a dict display. The meanings are
``answer``'s, line for line, which stays the fallback for a tree too deep to compile;
tests/lookup/test_on_demand_code.py holds the two equal.

As in codegen.py, no text of the contract or the request reaches the source: the
response names, input names, defaults and view name are constants ``k<n>`` read from
the function's globals, which hold no builtins.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import lru_cache

from featurestore.lookup.status import PRESENT, STATUSES
from featurestore.ondemand.codegen import Source, compile_source

from_iso = dt.datetime.fromisoformat


def compile_answer(view: str, expressions: tuple, inputs: tuple, steps: tuple,
                   groups: tuple, uses: tuple, meta: Callable) -> Callable | None:
    """``answer(req, read, out, counts, json_value)`` of one key, or None when a tree is
    too deep to compile. ``expressions``: the features', in order; ``inputs``: per
    stored input ``(its name, its input plan's index, its stored feature, its default,
    whether a timestamp)``; ``steps``, ``groups`` and ``uses``: the ``OnDemandPlan``'s;
    ``meta``: lookup/on_demand.py's ``_meta``, for a group of several input plans."""
    # the defaults' types in the key: 0, 0.0 and False are equal, and the code holds one
    typed = tuple((*item, type(item[3])) for item in inputs)
    return _compile(view, expressions, typed, steps, groups, uses, meta)


@lru_cache(maxsize=256)  # a plan is rebuilt at each pointer refresh; its code is not
def _compile(view: str, expressions: tuple, inputs: tuple, steps: tuple, groups: tuple,
             uses: tuple, meta: Callable) -> Callable | None:
    stored = {name: (index, feature, default, is_ts)
              for name, index, feature, default, is_ts, _ in inputs}

    def read(name: str, source: Source) -> str:
        if name not in stored:  # a request field
            return f"get({source.constant(name)})"
        index, feature, default, is_ts = stored[name]
        default, feature = source.constant(default), source.constant(feature)
        if not is_ts:
            return f"({default} if g{index} is None else g{index}[{feature}])"
        t = source.temp()
        return (f"({default} if g{index} is None else None if ({t} := g{index}[{feature}]) "
                f"is None else from_iso({t}))")

    source = Source(read)
    reads, bodies = source.values([e.tree for e in expressions])
    used = sorted({i for group in groups for i, _ in group} | {i for i, *_ in stored.values()})
    lines = ["def answer(req, read, out, counts, json_value):", "    get = req.get"]
    lines += [f"    r{i} = read[{i}]" for i in used]
    lines += [f"    g{i} = r{i}[0]" for i in sorted({i for i, *_ in stored.values()})]
    text = "\n".join(lines) + "\n" + reads
    text += "".join(f"    v{n} = {body}\n" for n, body in enumerate(bodies))
    text += "".join(f"    {line}\n" for line in _metas(source, groups)
                    + _answers(source, steps, groups) + _counts(source, view, groups, uses))
    return compile_source(text, source.constants, {"STATUSES": STATUSES, "meta": meta,
                                                   "from_iso": from_iso}, "answer")


def _metas(source: Source, groups: tuple) -> list[str]:
    """Per group of inputs: its status ``s<j>``, feature_ts ``f<j>``, age ``a<j>``."""
    lines = []
    for j, group in enumerate(groups):
        if len(group) == 1:
            ((i, absent),) = group
            t = source.temp()
            lines += [f"s{j} = {source.constant(STATUSES[absent])} if ({t} := r{i}[1]) "
                      f"is None else STATUSES[{t}]",
                      f"a{j} = r{i}[3]", f"f{j} = None if a{j} is None else r{i}[2]"]
        elif group:
            lines.append(f"s{j}, f{j}, a{j} = meta({source.constant(group)}, read)")
    return lines


def _answers(source: Source, steps: tuple, groups: tuple) -> list[str]:
    lines = []
    for n, (ref, j, is_ts) in enumerate(steps):
        if is_ts:
            lines.append(f"v{n} = None if v{n} is None else json_value(v{n})")
        ref = source.constant(ref)
        if not groups[j]:
            lines.append(f'out[{ref}] = {{"value": v{n}, "feature_ts": None, '
                         f'"status": {source.constant(PRESENT)}}}')
        else:
            lines.append(f'out[{ref}] = {{"value": v{n}, "feature_ts": None, "status": s{j}}} '
                         f'if f{j} is None else {{"value": v{n}, "feature_ts": f{j}, '
                         f'"age_seconds": a{j}, "status": s{j}}}')
    return lines


def _counts(source: Source, view: str, groups: tuple, uses: tuple) -> list[str]:
    lines = []
    for j, (group, count) in enumerate(zip(groups, uses, strict=True)):
        count = source.constant(count)
        key = source.constant((view, PRESENT)) if not group else f"({source.constant(view)}, s{j})"
        lines.append(f"counts[{key}] = counts.get({key}, 0) + {count}")
    return lines
