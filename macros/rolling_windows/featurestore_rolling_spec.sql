{#-
  The arguments, checked, as one spec (filled into `spec`, an empty dict the caller
  passes). Windows become microseconds; equal input
  expressions share one column, so count, sum and avg of `amount` read it once.
    keys, relation, event_ts, loaded_at, feature_ts, last_values, sum_scale
    inputs        distinct aggregate expressions; input i is column _rw_in_<i>
    windows       distinct window lengths in microseconds, ascending
    aggregates    [{name, agg, input, window (index into windows), window_us}]
    window_inputs per window index, the inputs whose events change it
    sum_inputs, minmax (input, agg) pairs, longest_us
    previous, lateness_us, too_late    (incremental runs)
    partitions    how many buckets of entities the body runs over, one after the other
    statements    a full build on DuckDB in one statement per bucket
                  (featurestore_rolling_statements)
    partition     the bucket one body reads (none: every entity, unpartitioned)
    after         the CTE of the bucket this one waits for (DuckDB), or none
-#}
{%- macro featurestore_rolling_spec(spec, relation, partition_by, event_ts, aggregates, loaded_at, last_values, feature_ts, previous, allowed_lateness, too_late, sum_scale, partitions=1, statements=false) -%}
    {%- if partition_by is string or partition_by is not iterable or partition_by | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "rolling_windows: `partition_by` must be a non-empty list of key columns, e.g. "
            ~ "['user_id'], not " ~ partition_by ~ ".") }}
    {%- endif -%}
    {%- if aggregates is string or aggregates is not iterable or aggregates | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "rolling_windows: `aggregates` must be a non-empty list of "
            ~ "{name, agg, expr, window} mappings.") }}
    {%- endif -%}
    {%- set inputs = [] -%}
    {%- set window_list = [] -%}
    {%- set checked = [] -%}
    {%- for aggregate in aggregates -%}
        {%- for field in ['name', 'agg', 'expr', 'window'] -%}
            {%- if aggregate is not mapping or not aggregate.get(field) -%}
                {{ exceptions.raise_compiler_error(
                    "rolling_windows: aggregate " ~ aggregate ~ " is missing `" ~ field
                    ~ "`; each needs name, agg, expr and window.") }}
            {%- endif -%}
        {%- endfor -%}
        {%- if aggregate['agg'] not in ['count', 'sum', 'avg', 'min', 'max'] -%}
            {{ exceptions.raise_compiler_error(
                "rolling_windows: aggregate `" ~ aggregate['name'] ~ "` has agg `"
                ~ aggregate['agg'] ~ "`; use one of count, sum, avg, min, max.") }}
        {%- endif -%}
        {%- set us = featurestore.featurestore_duration_us(aggregate['window']) | trim | int -%}
        {%- if us not in window_list -%}
            {%- do window_list.append(us) -%}
        {%- endif -%}
        {%- if aggregate['expr'] not in inputs -%}
            {%- do inputs.append(aggregate['expr']) -%}
        {%- endif -%}
        {%- do checked.append({'name': aggregate['name'], 'agg': aggregate['agg'],
                               'input': inputs.index(aggregate['expr']), 'window_us': us}) -%}
    {%- endfor -%}
    {%- set windows = window_list | sort -%}
    {%- set window_inputs = [] -%}
    {%- for us in windows -%}
        {%- do window_inputs.append([]) -%}
    {%- endfor -%}
    {%- set sum_inputs = [] -%}
    {%- set minmax = [] -%}
    {%- for aggregate in checked -%}
        {%- set k = windows.index(aggregate['window_us']) -%}
        {%- do aggregate.update({'window': k}) -%}
        {%- if aggregate['input'] not in window_inputs[k] -%}
            {%- do window_inputs[k].append(aggregate['input']) -%}
        {%- endif -%}
        {%- if aggregate['agg'] in ['sum', 'avg'] and aggregate['input'] not in sum_inputs -%}
            {%- do sum_inputs.append(aggregate['input']) -%}
        {%- endif -%}
        {%- if aggregate['agg'] in ['min', 'max'] and [aggregate['input'], aggregate['agg']] not in minmax -%}
            {%- do minmax.append([aggregate['input'], aggregate['agg']]) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do featurestore.featurestore_rolling_check_options(last_values, sum_scale, too_late, previous, loaded_at, partitions, statements) -%}
    {%- set lateness_us = none -%}
    {%- if allowed_lateness is not none and allowed_lateness is not false -%}
        {%- set lateness_us = featurestore.featurestore_duration_us(allowed_lateness, 'allowed_lateness') | trim | int -%}
    {%- endif -%}
    {%- do spec.update({
        'relation': relation, 'keys': partition_by | list, 'event_ts': event_ts,
        'loaded_at': loaded_at, 'feature_ts': feature_ts, 'last_values': last_values | list,
        'inputs': inputs, 'windows': windows, 'aggregates': checked,
        'window_inputs': window_inputs, 'sum_inputs': sum_inputs, 'minmax': minmax,
        'longest_us': windows | max, 'sum_scale': sum_scale | int,
        'previous': previous if previous is not none and previous is not false else none,
        'lateness_us': lateness_us, 'too_late': too_late,
        'partitions': partitions | int, 'statements': statements, 'partition': none,
        'after': none}) -%}
{%- endmacro -%}
