{#-
  Event-time rolling windows: one row per entity per change of any window's value.

  A window's value changes at each event, and again when an event falls out of the
  window, so a count decays to 0 without new events. The change points are therefore:
    1. every event time of the entity (several events at one time make one row that
       includes them all);
    2. every event time + each window length (the instant the event drops out), for
       the events that feed an aggregate over that window;
    3. never past the data horizon: the newest event time in the input. What happens
       after it is unknown (a new event may yet arrive), so rows there would reach the
       online store as values from the future.

  Boundary: a window of length w at time t holds the events in the half-open interval
  (t - w, t]. An event exactly w old is out, one microsecond younger is in, and the
  event at t itself is in. So an event at e counts from e until just before e + w, and
  e + w is exactly its expiry change point. Times are integer epoch microseconds inside.

  Values per row: `count` counts the non-null inputs (0 when the window is empty),
  `sum` is 0 when the window is empty, `avg`, `min`, `max` are null then. `last_values`
  carry the input of the latest event at or before the row (ties at one instant: the
  greatest `order_by`; a null input falls back to the previous event's).
  Sums are exact: each input is rounded to `sum_scale` decimal places (default 12) and
  added as DECIMAL(38, sum_scale), so a sum never depends on the order of additions,
  an empty window sums to exactly 0, and an incremental run gives the very bits of a
  full build. `sum` and `avg` come out as DOUBLE (avg = that exact sum / count),
  `count` as BIGINT, `min`, `max` and last values in their input's type.

  `loaded_at` of a row: the latest loaded_at of the input rows at or before it, so a
  late-arriving old event marks every row it changed as new for the sync's watermark.

  Arguments:
    relation      a relation or CTE name with the events
    partition_by  list of entity key columns
    event_ts      the event-time column: a naive UTC timestamp, or on DuckDB a
                  TIMESTAMP WITH TIME ZONE (epoch_us reads its instant, whatever the
                  session's TimeZone; tested). On Snowflake pass naive UTC, e.g.
                  cast(convert_timezone('UTC', ts) as timestamp_ntz) for a
                  TIMESTAMP_TZ/LTZ column. The output feature_ts is naive UTC.
    aggregates    list of {name, agg: count|sum|avg|min|max, expr, window: '1h'|'7d'|...}
    loaded_at     optional column: when each input row landed in the warehouse; needed
                  by incremental models (it is their watermark)
    last_values   optional list of {name, expr, order_by}
    feature_ts    name of the output time column (default feature_ts)
    incremental   none (default): in an incremental model's incremental run (dbt's
                  is_incremental()), recompute only what the new events change, reading
                  the model's own table ({{ this }}); false: always the full query; a
                  relation: the previous result to read (tests render this way)
    allowed_lateness  none (default: no bound, every late event is applied) or a duration
                  such as '3d': how far behind the old data horizon a new event may be
                  (default: var('featurestore_allowed_lateness', none))
    too_late      what an incremental run does with a new event later than that:
                  'skip' (default; the next full refresh applies it) or 'fail'
    sum_scale     decimal places sums keep (default 12: DECIMAL(38, 12) holds 10^26)

  Incremental runs (docs/incremental.md has the why): the new events are the input rows
  with loaded_at after the watermark, max(loaded_at) of the previous table. Each entity
  they touch is recomputed from its earliest new event on, and each entity whose events
  leave a window between the old data horizon (max(feature_ts) of the previous table)
  and the new one gets those exit rows. The input of an entity recomputed from r is its
  events from r - the longest window on; the latest loaded_at and the last values of
  its older events are carried in. The rows come out for feature_ts >= r only, a
  superset of the previous rows there, so a delete+insert on (keys, feature_ts) makes
  the table identical, row for row, to a full build. The model's table must keep the
  `loaded_at` and feature_ts columns under those names.

  The result is a complete `with ... select` query: use it as a CTE body,
  `windows as ( {{ rolling_windows(...) }} )`.

  rolling_windows(...)                 validates into a spec, then dispatches to
  duckdb__rolling_windows(spec)        prefix sums: one sort of the change points and
                                       one running sum of packed counters, the rest by
                                       index lookups (the fastest on DuckDB, tested)
  snowflake__ / default__rolling_windows(spec)   one RANGE frame per aggregate
  The bodies are plain Jinja (no return, adapter, ref, this or exceptions), so tests
  render them outside dbt as well.
-#}

{% macro rolling_windows(relation, partition_by, event_ts, aggregates, loaded_at=none, last_values=[], feature_ts='feature_ts', incremental=none, allowed_lateness=none, too_late='skip', sum_scale=12) %}
    {%- if incremental is none -%}
        {%- set incremental = this if is_incremental() else false -%}
    {%- endif -%}
    {%- if allowed_lateness is none -%}
        {%- set allowed_lateness = var('featurestore_allowed_lateness', none) -%}
    {%- endif -%}
    {%- set spec = {} -%}
    {%- do featurestore.featurestore_rolling_spec(spec, relation, partition_by, event_ts, aggregates, loaded_at, last_values, feature_ts, incremental, allowed_lateness, too_late, sum_scale) -%}
    {{ return(adapter.dispatch('rolling_windows', 'featurestore')(spec)) }}
{% endmacro %}


{#- DuckDB: prefix sums and index lookups (hash joins); RANGE frames only for min and max.
    https://duckdb.org/docs/stable/sql/functions/window_functions -#}
{% macro duckdb__rolling_windows(spec) %}
{{- featurestore.featurestore_rolling_prefix_sql(spec, 'duckdb') -}}
{% endmacro %}


{#- Snowflake: RANGE frames with numeric offsets over epoch microseconds.
    https://docs.snowflake.com/en/sql-reference/functions-analytic#window-frame-syntax-and-usage -#}
{% macro snowflake__rolling_windows(spec) %}
{{- featurestore.featurestore_rolling_range_sql(spec, 'snowflake') -}}
{% endmacro %}


{#- Portable: RANGE frames (SQL:2011), a fill-forward for last values.
    https://en.wikipedia.org/wiki/Window_function_(SQL) -#}
{% macro default__rolling_windows(spec) %}
{{- featurestore.featurestore_rolling_range_sql(spec, 'default') -}}
{% endmacro %}


{#-
  The arguments, checked, as one spec (filled into `spec`: plain Jinja cannot return a
  value, so the caller passes an empty dict). Windows become microseconds; equal input
  expressions share one column, so count, sum and avg of `amount` read it once.
    keys, relation, event_ts, loaded_at, feature_ts, last_values, sum_scale
    inputs        distinct aggregate expressions; input i is column _rw_in_<i>
    windows       distinct window lengths in microseconds, ascending
    aggregates    [{name, agg, input, window (index into windows), window_us}]
    window_inputs per window index, the inputs whose events change it
    sum_inputs, minmax (input, agg) pairs, longest_us
    previous, lateness_us, too_late    (incremental runs)
-#}
{%- macro featurestore_rolling_spec(spec, relation, partition_by, event_ts, aggregates, loaded_at, last_values, feature_ts, previous, allowed_lateness, too_late, sum_scale) -%}
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
    {%- for last in last_values -%}
        {%- for field in ['name', 'expr', 'order_by'] -%}
            {%- if last is not mapping or not last.get(field) -%}
                {{ exceptions.raise_compiler_error(
                    "rolling_windows: last value " ~ last ~ " is missing `" ~ field
                    ~ "`; each needs name, expr and order_by.") }}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if sum_scale is not number or sum_scale < 0 or sum_scale > 30 or sum_scale != sum_scale | int -%}
        {{ exceptions.raise_compiler_error(
            "rolling_windows: `sum_scale` must be a whole number of decimal places from 0 "
            ~ "to 30, not " ~ sum_scale ~ ".") }}
    {%- endif -%}
    {%- if too_late not in ['skip', 'fail'] -%}
        {{ exceptions.raise_compiler_error(
            "rolling_windows: `too_late` must be 'skip' or 'fail', not " ~ too_late ~ ".") }}
    {%- endif -%}
    {%- set lateness_us = none -%}
    {%- if allowed_lateness is not none and allowed_lateness is not false -%}
        {%- set lateness_us = featurestore.featurestore_duration_us(allowed_lateness, 'allowed_lateness') | trim | int -%}
    {%- endif -%}
    {%- if previous is not none and previous is not false and not loaded_at -%}
        {{ exceptions.raise_compiler_error(
            "rolling_windows: an incremental run needs `loaded_at`: the watermark is the "
            ~ "model's max(loaded_at). Pass loaded_at='<column>' or materialize the model "
            ~ "as a table.") }}
    {%- endif -%}
    {%- do spec.update({
        'relation': relation, 'keys': partition_by | list, 'event_ts': event_ts,
        'loaded_at': loaded_at, 'feature_ts': feature_ts, 'last_values': last_values | list,
        'inputs': inputs, 'windows': windows, 'aggregates': checked,
        'window_inputs': window_inputs, 'sum_inputs': sum_inputs, 'minmax': minmax,
        'longest_us': windows | max, 'sum_scale': sum_scale | int,
        'previous': previous if previous is not none and previous is not false else none,
        'lateness_us': lateness_us, 'too_late': too_late}) -%}
{%- endmacro -%}


{#- '90s', '15m', '1h', '7d', '2w' -> microseconds, as digits (the units of
    featurestore/durations.py). -#}
{%- macro featurestore_duration_us(text, what='window') -%}
    {%- set units = {'s': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800} -%}
    {%- set text = text | string | trim -%}
    {%- set number = text[:-1] -%}
    {%- if text[-1:] not in units or not number.isdigit() or number | int == 0 -%}
        {{ exceptions.raise_compiler_error(
            "rolling_windows: " ~ what ~ " `" ~ text ~ "` is not a duration; write it like "
            ~ "90s, 15m, 1h, 7d or 2w.") }}
    {%- endif -%}
    {{- number | int * units[text[-1:]] * 1000000 -}}
{%- endmacro -%}


{#- '90s', ... -> seconds (kept for projects that call it; dbt only). -#}
{% macro featurestore_duration_seconds(text) %}
    {{ return((featurestore.featurestore_duration_us(text) | trim | int) // 1000000) }}
{% endmacro %}


{#-
  The CTEs both bodies share, up to the events to window:
    _rw_source    the input rows: keys, _rw_ts_us, _rw_loaded_at, _rw_in_<i>, and per
                  last value _rw_lv_<j> with its order _rw_lo_<j>
  full run:
    _rw_events    = _rw_source
    _rw_horizon   the newest event time
  incremental run:
    _rw_previous  the watermark (max loaded_at) and the old horizon (max feature_ts)
    _rw_new       rows landed after the watermark (a null loaded_at counts as new),
                  minus (skip) or failing on (fail) those later than allowed_lateness
    _rw_horizon   the newer of the old horizon and the newest new event
    _rw_starts    per entity, where its rows start to change: its earliest new event,
                  or the old horizon + 1 us for entities whose events leave a window
                  between the old horizon and the new one
    _rw_events    those entities' events from start - longest window on
    _rw_carry     per entity, what its events before that bring: latest loaded_at and
                  the last values
-#}
{%- macro featurestore_rolling_input_ctes(spec, dialect) -%}
{%- set keys = featurestore.featurestore_key_list(spec['keys']) -%}
    -- 1. The events, with time as integer epoch microseconds and the inputs numbered.
    _rw_source as (
        select
            {{ keys }},
            {{ featurestore.featurestore_epoch_us_sql(spec['event_ts'], dialect) }} as _rw_ts_us,
            {%- if spec['loaded_at'] %}
            {{ spec['loaded_at'] }} as _rw_loaded_at,
            {%- endif %}
            {%- for expr in spec['inputs'] %}
            {{ expr }} as _rw_in_{{ loop.index0 }},
            {%- endfor %}
            {%- for last in spec['last_values'] %}
            {{ last['expr'] }} as _rw_lv_{{ loop.index0 }},
            {{ last['order_by'] }} as _rw_lo_{{ loop.index0 }},
            {%- endfor %}
            0 as _rw_unused
        from {{ spec['relation'] }}
        where {{ spec['event_ts'] }} is not null
    ),
{%- if not spec['previous'] %}

    _rw_events as (
        select * from _rw_source
    ),

    _rw_horizon as (
        select max(_rw_ts_us) as _rw_horizon_us from _rw_source
    ),
{%- else %}

    -- 2. The previous result: its watermark and its data horizon.
    _rw_previous as (
        select
            max(loaded_at) as _rw_watermark,
            max({{ featurestore.featurestore_epoch_us_sql(spec['feature_ts'], dialect) }}) as _rw_old_horizon_us
        from {{ spec['previous'] }}
    ),

    -- 3. The rows landed since{{ ', within the allowed lateness' if spec['lateness_us'] is not none }}.
    _rw_new as (
        select
            {{ featurestore.featurestore_key_list(spec['keys'], '_rw_source') }},
            _rw_source._rw_ts_us
        from _rw_source
        cross join _rw_previous
        where (
            _rw_previous._rw_watermark is null
            or _rw_source._rw_loaded_at is null
            or _rw_source._rw_loaded_at > _rw_previous._rw_watermark
        )
        {%- if spec['lateness_us'] is not none %}
        {%- set too_late = '_rw_source._rw_ts_us < _rw_previous._rw_old_horizon_us - ' ~ spec['lateness_us'] %}
        {%- if spec['too_late'] == 'skip' %}
        and not coalesce({{ too_late }}, false)
        {%- else %}
        and case
            when {{ too_late }}
                then {{ featurestore.featurestore_fail_sql(
                    "'rolling_windows: an event at ' || cast(_rw_source._rw_ts_us as varchar) || ' us landed later than the allowed lateness; run with --full-refresh, or raise allowed_lateness'",
                    dialect) }}
            else true
        end
        {%- endif %}
        {%- endif %}
    ),

    _rw_horizon as (
        select max(_rw_ts_us) as _rw_horizon_us
        from (
            select _rw_old_horizon_us as _rw_ts_us from _rw_previous
            union all
            select max(_rw_ts_us) from _rw_new
        ) as _rw_candidates
    ),

    -- 4. Where each changed entity's rows start to change.
    _rw_starts as (
        select
            {{ keys }},
            min(_rw_start_us) as _rw_start_us
        from (
            select {{ keys }}, _rw_ts_us as _rw_start_us from _rw_new
            union all
            select
                {{ keys }},
                _rw_previous._rw_old_horizon_us + 1 as _rw_start_us
            from _rw_source
            cross join _rw_previous
            cross join _rw_horizon
            where
                {%- for us in spec['windows'] %}
                {{ 'or ' if not loop.first }}(
                    _rw_source._rw_ts_us + {{ us }} > _rw_previous._rw_old_horizon_us
                    and _rw_source._rw_ts_us + {{ us }} <= _rw_horizon._rw_horizon_us
                    and ({% for i in spec['window_inputs'][loop.index0] %}{{ ' or ' if not loop.first }}_rw_in_{{ i }} is not null{% endfor %})
                )
                {%- endfor %}
        ) as _rw_changes
        group by {{ keys }}
    ),

    -- 5. Their events from start - {{ spec['longest_us'] }} us (the longest window) on.
    _rw_events as (
        select _rw_source.*
        from _rw_source
        inner join _rw_starts
            on {{ featurestore.featurestore_rw_keys_match(spec['keys'], '_rw_source', '_rw_starts') }}
        where _rw_source._rw_ts_us >= _rw_starts._rw_start_us - {{ spec['longest_us'] }}
    ),

    -- 6. What their older events carry in: the latest loaded_at and the last values.
    _rw_older as (
        select
            _rw_source.*
            {%- for last in spec['last_values'] %},
            row_number() over (
                partition by {{ featurestore.featurestore_key_list(spec['keys'], '_rw_source') }}, _rw_source._rw_ts_us
                order by _rw_source._rw_lo_{{ loop.index0 }} desc nulls last
            ) as _rw_rank_{{ loop.index0 }}
            {%- endfor %}
        from _rw_source
        inner join _rw_starts
            on {{ featurestore.featurestore_rw_keys_match(spec['keys'], '_rw_source', '_rw_starts') }}
        where _rw_source._rw_ts_us < _rw_starts._rw_start_us - {{ spec['longest_us'] }}
    ),

    _rw_carry as (
        select
            {{ keys }},
            max(_rw_loaded_at) as _rw_loaded_at
            {%- for last in spec['last_values'] %},
            max(case when _rw_pick_{{ loop.index0 }} = 1 and _rw_rank_{{ loop.index0 }} = 1 then _rw_lv_{{ loop.index0 }} end) as _rw_lv_{{ loop.index0 }}
            {%- endfor %}
        from (
            select
                _rw_older.*
                {%- for last in spec['last_values'] %},
                row_number() over (
                    partition by {{ keys }}
                    order by case when _rw_rank_{{ loop.index0 }} = 1 and _rw_lv_{{ loop.index0 }} is not null then 0 else 1 end, _rw_ts_us desc
                ) as _rw_pick_{{ loop.index0 }}
                {%- endfor %}
            from _rw_older
        ) as _rw_picked
        group by {{ keys }}
    ),
{%- endif %}
{%- endmacro -%}


{#- The last CTE and the select of both bodies: one row per change point with the
    output columns; in an incremental run the carried values join in and only the rows
    from each entity's start come out. `windowed` has keys, _rw_ts_us, _rw_loaded_at,
    each aggregate by name and each last value as _rw_last_<j>. -#}
{%- macro featurestore_rolling_output(spec, windowed, dialect) -%}
{%- set keys = spec['keys'] %}
select
    {{ featurestore.featurestore_key_list(keys, windowed) }},
    {{ featurestore.featurestore_from_epoch_us_sql(windowed ~ '._rw_ts_us', dialect) }} as {{ spec['feature_ts'] }},
    {%- if spec['loaded_at'] %}
    {%- if spec['previous'] %}
    case
        when _rw_carry._rw_loaded_at is null then {{ windowed }}._rw_loaded_at
        when {{ windowed }}._rw_loaded_at is null then _rw_carry._rw_loaded_at
        when {{ windowed }}._rw_loaded_at > _rw_carry._rw_loaded_at then {{ windowed }}._rw_loaded_at
        else _rw_carry._rw_loaded_at
    end as loaded_at,
    {%- else %}
    {{ windowed }}._rw_loaded_at as loaded_at,
    {%- endif %}
    {%- endif %}
    {%- for aggregate in spec['aggregates'] %}
    {{ windowed }}.{{ aggregate['name'] }}{{ ',' if not loop.last or spec['last_values'] }}
    {%- endfor %}
    {%- for last in spec['last_values'] %}
    {%- if spec['previous'] %}
    coalesce({{ windowed }}._rw_last_{{ loop.index0 }}, _rw_carry._rw_lv_{{ loop.index0 }}) as {{ last['name'] }}{{ ',' if not loop.last }}
    {%- else %}
    {{ windowed }}._rw_last_{{ loop.index0 }} as {{ last['name'] }}{{ ',' if not loop.last }}
    {%- endif %}
    {%- endfor %}
from {{ windowed }}
{%- if spec['previous'] %}
inner join _rw_starts
    on {{ featurestore.featurestore_rw_keys_match(keys, windowed, '_rw_starts') }}
left join _rw_carry
    on {{ featurestore.featurestore_rw_keys_match(keys, windowed, '_rw_carry') }}
where {{ windowed }}._rw_ts_us >= _rw_starts._rw_start_us
{%- endif %}
{%- endmacro -%}


{#-
  DuckDB body: prefix sums looked up by index.
    a. One row per instant (entity, event time) with its inputs' counts, exact sums,
       min/max, latest loaded_at and the last values' candidates.
    b. The entities numbered in key order (_rw_entity).
    c. Prefixes over all instants in (keys, time) order, numbered 1, 2, ... (_rw_idx):
       running counts and sums across all entities (an entity's own are differences
       of two of them), and per entity the latest loaded_at and last values (arg_max
       over a key that puts the entity's number above any earlier entity's).
    d. Markers: each instant at its time, and at its time + w for each window w (an
       exit after the horizon at horizon + 1 us: no change point, but counted). In the
       same (keys, time) order a marker adds 1 to counter 0 (instants so far) or to
       counter k (instants more than w_k old); the counters are 31-bit fields of a
       HUGEINT (four per column), so one running sum over the change points counts them
       all. At a change point (entity, t), counter 0 is the number of the last instant
       at or before t, and counter k that of the last instant at or before t - w_k, or
       of the previous entity's last instant when there is none (its prefix then holds
       exactly the earlier entities). An aggregate over (t - w, t] is the difference of
       the two prefixes: exact (integers, DECIMAL), so an empty window is exactly empty.
    e. min and max are not differences: RANGE frames per entity over the change points.
  One order over all entities, not a window partitioned by entity: a hot entity (a
  merchant with half the events) would otherwise be one long partition on one thread.
-#}
{%- macro featurestore_rolling_prefix_sql(spec, dialect) -%}
{%- set keys = featurestore.featurestore_key_list(spec['keys']) -%}
{%- set order = 'order by ' ~ keys ~ ', _rw_ts_us' -%}
{%- set decimal = 'decimal(38, ' ~ spec['sum_scale'] ~ ')' -%}
{%- set n_counters = spec['windows'] | length + 1 -%}
{%- set n_packs = (n_counters + 3) // 4 -%}
{%- set entity_high = 'cast(_rw_entity as hugeint) << 64' -%}
{#- incremental and no min/max: instants no lookup can land on are summed up (a') -#}
{%- set compact = spec['previous'] and not spec['minmax'] -%}
{%- set instants = '_rw_compact' if compact else '_rw_instants' -%}
with

{{ featurestore.featurestore_rolling_input_ctes(spec, dialect) }}

    -- a. One row per instant.
    _rw_instants as (
        select
            {{ keys }},
            _rw_ts_us,
            {%- if spec['loaded_at'] %}
            max(_rw_loaded_at) as _rw_loaded_at,
            {%- endif %}
            {%- for expr in spec['inputs'] %}
            count(_rw_in_{{ loop.index0 }}) as _rw_n_{{ loop.index0 }},
            {%- endfor %}
            {%- for i in spec['sum_inputs'] %}
            coalesce(sum(cast(_rw_in_{{ i }} as {{ decimal }})), 0) as _rw_s_{{ i }},
            {%- endfor %}
            {%- for pair in spec['minmax'] %}
            {{ pair[1] }}(_rw_in_{{ pair[0] }}) as _rw_{{ pair[1] }}_{{ pair[0] }},
            {%- endfor %}
            {%- for last in spec['last_values'] %}
            arg_max_null(_rw_lv_{{ loop.index0 }}, _rw_lo_{{ loop.index0 }}) as _rw_lv_{{ loop.index0 }},
            {%- endfor %}
            0 as _rw_unused
        from _rw_events
        group by {{ keys }}, _rw_ts_us
    ),
{%- if compact %}
{%- set counters = [0] + spec['windows'] %}

    -- a'. Only some instants can be looked up: a change point t from the entity's start
    --     r to the horizon H reads the prefixes at t and at t - w, i.e. instants in
    --     [r - w, H - w] for w = 0 and each window ("slices"). The instants between
    --     slices are summed into one row each (at the latest of their times), so the
    --     work follows the span that changes, not the longest window. Their exits all
    --     fall before r or after H, on the same side per row: no change point moves.
    _rw_compact as (
        select
            {{ keys }},
            max(_rw_ts_us) as _rw_ts_us,
            {%- if spec['loaded_at'] %}
            max(_rw_loaded_at) as _rw_loaded_at,
            {%- endif %}
            {%- for expr in spec['inputs'] %}
            sum(_rw_n_{{ loop.index0 }}) as _rw_n_{{ loop.index0 }},
            {%- endfor %}
            {%- for i in spec['sum_inputs'] %}
            sum(_rw_s_{{ i }}) as _rw_s_{{ i }},
            {%- endfor %}
            {%- for last in spec['last_values'] %}
            arg_max(_rw_lv_{{ loop.index0 }}, _rw_ts_us) as _rw_lv_{{ loop.index0 }},
            {%- endfor %}
            0 as _rw_unused
        from (
            select
                _rw_instants.*,
                case
                    when {% for w in counters %}{{ ' or ' if not loop.first }}_rw_instants._rw_ts_us between _rw_starts._rw_start_us - {{ w }} and _rw_horizon._rw_horizon_us - {{ w }}{% endfor %}
                        then _rw_instants._rw_ts_us
                end as _rw_slice_ts,
                {% for w in counters %}{{ ' + ' if not loop.first }}case when _rw_instants._rw_ts_us > _rw_horizon._rw_horizon_us - {{ w }} then 1 else 0 end + case when _rw_instants._rw_ts_us >= _rw_starts._rw_start_us - {{ w }} then 1 else 0 end{% endfor %} as _rw_region
            from _rw_instants
            inner join _rw_starts
                on {{ featurestore.featurestore_rw_keys_match(spec['keys'], '_rw_instants', '_rw_starts') }}
            cross join _rw_horizon
        ) as _rw_labelled
        group by {{ keys }}, _rw_slice_ts, _rw_region
    ),
{%- endif %}

    -- b. The entities, numbered in key order.
    _rw_entities as (
        select
            {{ keys }},
            row_number() over (order by {{ keys }}) as _rw_entity
        from (select distinct {{ keys }} from {{ instants }}) as _rw_keys
    ),

    -- c. Prefixes over all instants in (keys, time) order.
    _rw_prefix as (
        select
            row_number() over _rw_so_far as _rw_idx,
            {%- if spec['loaded_at'] %}
            arg_max_null({{ instants }}._rw_loaded_at, {{ entity_high }}
                | coalesce(cast({{ featurestore.featurestore_epoch_us_sql(instants ~ '._rw_loaded_at', dialect) }} as hugeint) + 9223372036854775808, 0)
            ) over _rw_so_far as _rw_loaded_at,
            {%- endif %}
            {%- for expr in spec['inputs'] %}
            sum(_rw_n_{{ loop.index0 }}) over _rw_so_far as _rw_n_{{ loop.index0 }},
            {%- endfor %}
            {%- for i in spec['sum_inputs'] %}
            sum(_rw_s_{{ i }}) over _rw_so_far as _rw_s_{{ i }},
            {%- endfor %}
            {%- for last in spec['last_values'] %}
            arg_max_null(_rw_lv_{{ loop.index0 }}, {{ entity_high }}
                | case when _rw_lv_{{ loop.index0 }} is not null then cast(_rw_ts_us as hugeint) + 9223372036854775808 else 0 end
            ) over _rw_so_far as _rw_lv_{{ loop.index0 }},
            {%- endfor %}
            0 as _rw_unused
        from {{ instants }}
        inner join _rw_entities
            on {{ featurestore.featurestore_rw_keys_match(spec['keys'], instants, '_rw_entities') }}
        window _rw_so_far as (order by {{ featurestore.featurestore_key_list(spec['keys'], instants) }}, {{ instants }}._rw_ts_us rows between unbounded preceding and current row)
    ),

    -- d. Markers at each instant and at each instant + window, as packed counters.
    _rw_markers as (
        select
            {{ keys }},
            _rw_ts_us,
            {%- for p in range(n_packs) %}
            cast({{ 1 if p == 0 else 0 }} as hugeint) as _rw_pack_{{ p }},
            {%- endfor %}
            true as _rw_is_point
            {%- for pair in spec['minmax'] %},
            _rw_{{ pair[1] }}_{{ pair[0] }}
            {%- endfor %}
        from {{ instants }}
        {%- for us in spec['windows'] %}
        {%- set counter = loop.index %}

        union all

        select
            {{ keys }},
            least(_rw_ts_us + {{ us }}, _rw_horizon._rw_horizon_us + 1),
            {%- for p in range(n_packs) %}
            cast({{ '1' if p == counter // 4 else '0' }} as hugeint){{ ' << ' ~ 31 * (counter % 4) if p == counter // 4 and counter % 4 }},
            {%- endfor %}
            _rw_ts_us + {{ us }} <= _rw_horizon._rw_horizon_us
                and ({% for i in spec['window_inputs'][loop.index0] %}{{ ' or ' if not loop.first }}_rw_n_{{ i }} > 0{% endfor %})
            {%- for pair in spec['minmax'] %},
            null
            {%- endfor %}
        from {{ instants }}
        cross join _rw_horizon
        {%- endfor %}
    ),

    _rw_changes as (
        select
            {{ keys }},
            _rw_ts_us,
            {%- for p in range(n_packs) %}
            sum(_rw_pack_{{ p }}) as _rw_pack_{{ p }},
            {%- endfor %}
            bool_or(_rw_is_point) as _rw_is_point
            {%- for pair in spec['minmax'] %},
            {{ pair[1] }}(_rw_{{ pair[1] }}_{{ pair[0] }}) as _rw_{{ pair[1] }}_{{ pair[0] }}
            {%- endfor %}
        from _rw_markers
        group by {{ keys }}, _rw_ts_us
    ),

    -- The running counters (and e. the min/max frames) over the change points.
    _rw_counted as (
        select
            {{ keys }},
            _rw_ts_us,
            _rw_is_point
            {%- for p in range(n_packs) %},
            sum(_rw_pack_{{ p }}) over ({{ order }} rows between unbounded preceding and current row) as _rw_pack_{{ p }}
            {%- endfor %}
            {%- for aggregate in spec['aggregates'] if aggregate['agg'] in ['min', 'max'] %},
            {{ aggregate['agg'] }}(_rw_{{ aggregate['agg'] }}_{{ aggregate['input'] }}) over (
                partition by {{ keys }} order by _rw_ts_us
                range between {{ aggregate['window_us'] - 1 }} preceding and current row
            ) as {{ aggregate['name'] }}
            {%- endfor %}
        from _rw_changes
    ),

    _rw_positions as (
        select
            _rw_counted.*
            {%- for c in range(n_counters) %},
            cast((_rw_pack_{{ c // 4 }} >> {{ 31 * (c % 4) }}) & 2147483647 as bigint) as _rw_at_{{ c }}
            {%- endfor %}
        from _rw_counted
    ),

    -- The aggregates: prefix at t minus prefix at t - w.
    _rw_windowed as (
        select
            {{ featurestore.featurestore_key_list(spec['keys'], '_rw_positions') }},
            _rw_positions._rw_ts_us,
            {%- if spec['loaded_at'] %}
            _rw_now._rw_loaded_at,
            {%- endif %}
            {%- for aggregate in spec['aggregates'] %}
            {%- set i = aggregate['input'] %}
            {%- set then = '_rw_before_' ~ aggregate['window'] %}
            {%- set n = '(_rw_now._rw_n_' ~ i ~ ' - coalesce(' ~ then ~ '._rw_n_' ~ i ~ ', 0))' %}
            {%- set s = '(_rw_now._rw_s_' ~ i ~ ' - coalesce(' ~ then ~ '._rw_s_' ~ i ~ ', 0))' %}
            {%- if aggregate['agg'] == 'count' %}
            cast({{ n }} as bigint) as {{ aggregate['name'] }},
            {%- elif aggregate['agg'] == 'sum' %}
            cast({{ s }} as double) as {{ aggregate['name'] }},
            {%- elif aggregate['agg'] == 'avg' %}
            case when {{ n }} > 0 then cast({{ s }} as double) / {{ n }} end as {{ aggregate['name'] }},
            {%- else %}
            _rw_positions.{{ aggregate['name'] }},
            {%- endif %}
            {%- endfor %}
            {%- for last in spec['last_values'] %}
            _rw_now._rw_lv_{{ loop.index0 }} as _rw_last_{{ loop.index0 }},
            {%- endfor %}
            0 as _rw_unused
        from _rw_positions
        -- the change points only: the join drops the rest (a WHERE would make DuckDB
        -- guess the change points fewer than the prefixes, and hash them instead)
        inner join _rw_prefix as _rw_now
            on _rw_now._rw_idx = case when _rw_positions._rw_is_point then _rw_positions._rw_at_0 end
        {%- for us in spec['windows'] %}
        left join _rw_prefix as _rw_before_{{ loop.index0 }}
            on _rw_before_{{ loop.index0 }}._rw_idx = _rw_positions._rw_at_{{ loop.index }}
        {%- endfor %}
    )

{{ featurestore.featurestore_rolling_output(spec, '_rw_windowed', dialect) }}
{%- endmacro -%}


{#-
  RANGE body: events and change points in one stream, one RANGE frame of w_us - 1
  microseconds back per aggregate ("w_us - 1 preceding" holds ts >= t - w_us + 1,
  i.e. ts > t - w_us). Sums over DECIMAL, as in the DuckDB body, so both give the same
  bits. Last values fill forward portably: a running count of non-null candidates
  numbers the stretches, and each stretch takes its one non-null value.
-#}
{%- macro featurestore_rolling_range_sql(spec, dialect) -%}
{%- set keys = featurestore.featurestore_key_list(spec['keys']) -%}
{%- set frame = 'partition by ' ~ keys ~ ' order by _rw_ts_us' -%}
{%- set decimal = 'decimal(38, ' ~ spec['sum_scale'] ~ ')' -%}
with

{{ featurestore.featurestore_rolling_input_ctes(spec, dialect) }}

    -- a. The events; a last value's candidate is the input of the instant's greatest order.
    _rw_ranked as (
        select
            {{ keys }},
            _rw_ts_us,
            {%- if spec['loaded_at'] %}
            _rw_loaded_at,
            {%- endif %}
            {%- for expr in spec['inputs'] %}
            _rw_in_{{ loop.index0 }},
            {%- endfor %}
            {%- for last in spec['last_values'] %}
            case
                when row_number() over (
                    partition by {{ keys }}, _rw_ts_us
                    order by _rw_lo_{{ loop.index0 }} desc nulls last
                ) = 1 then _rw_lv_{{ loop.index0 }}
            end as _rw_lv_{{ loop.index0 }},
            {%- endfor %}
            0 as _rw_is_point
        from _rw_events
    ),

    -- b. Change points: each event time, and each event time + window for the events
    --    that feed an aggregate over that window; never past the horizon.
    _rw_points as (
        select distinct
            {{ keys }},
            _rw_ts_us
        from (
            select {{ keys }}, _rw_ts_us from _rw_ranked
            {%- for us in spec['windows'] %}
            union all
            select {{ keys }}, _rw_ts_us + {{ us }} as _rw_ts_us
            from _rw_ranked
            where
                {%- for i in spec['window_inputs'][loop.index0] %}
                {{ 'or ' if not loop.first }}_rw_in_{{ i }} is not null
                {%- endfor %}
            {%- endfor %}
        ) as _rw_candidates
        where _rw_ts_us <= (select _rw_horizon_us from _rw_horizon)
    ),

    -- c. Events and change points in one stream; the points carry no inputs.
    _rw_stacked as (
        select * from _rw_ranked
        union all
        select
            {{ keys }},
            _rw_ts_us,
            {%- if spec['loaded_at'] %}
            null,
            {%- endif %}
            {%- for expr in spec['inputs'] %}
            null,
            {%- endfor %}
            {%- for last in spec['last_values'] %}
            null,
            {%- endfor %}
            1
        from _rw_points
    ),

    -- d. Every window over (t - w, t]: a RANGE frame of w_us - 1 microseconds back.
    _rw_framed as (
        select
            {{ keys }},
            _rw_ts_us,
            _rw_is_point,
            {%- if spec['loaded_at'] %}
            max(_rw_loaded_at) over (
                {{ frame }} range between unbounded preceding and current row
            ) as _rw_loaded_at,
            {%- endif %}
            {%- for aggregate in spec['aggregates'] %}
            {%- set input = '_rw_in_' ~ aggregate['input'] %}
            {%- set within = frame ~ ' range between ' ~ (aggregate['window_us'] - 1) ~ ' preceding and current row' %}
            {%- if aggregate['agg'] == 'count' %}
            count({{ input }}) over ({{ within }}) as {{ aggregate['name'] }},
            {%- elif aggregate['agg'] == 'sum' %}
            cast(coalesce(sum(cast({{ input }} as {{ decimal }})) over ({{ within }}), 0) as double) as {{ aggregate['name'] }},
            {%- elif aggregate['agg'] == 'avg' %}
            cast(sum(cast({{ input }} as {{ decimal }})) over ({{ within }}) as double)
                / nullif(count({{ input }}) over ({{ within }}), 0) as {{ aggregate['name'] }},
            {%- else %}
            {{ aggregate['agg'] }}({{ input }}) over ({{ within }}) as {{ aggregate['name'] }},
            {%- endif %}
            {%- endfor %}
            {%- for last in spec['last_values'] %}
            _rw_lv_{{ loop.index0 }},
            count(_rw_lv_{{ loop.index0 }}) over (
                {{ frame }} range between unbounded preceding and current row
            ) as _rw_stretch_{{ loop.index0 }},
            {%- endfor %}
            0 as _rw_unused
        from _rw_stacked
    ),

    _rw_windowed as (
        select
            _rw_framed.*
            {%- for last in spec['last_values'] %},
            max(_rw_lv_{{ loop.index0 }}) over (
                partition by {{ keys }}, _rw_stretch_{{ loop.index0 }}
            ) as _rw_last_{{ loop.index0 }}
            {%- endfor %}
        from _rw_framed
    ),

    _rw_at_points as (
        select * from _rw_windowed where _rw_is_point = 1
    )

{{ featurestore.featurestore_rolling_output(spec, '_rw_at_points', dialect) }}
{%- endmacro -%}


{#- Keys equal column by column, a null key matching a null key: the bodies partition
    by the keys, and a null key is one more partition there. -#}
{%- macro featurestore_rw_keys_match(keys, left, right) -%}
{%- for key in keys -%}{{ left }}.{{ key }} is not distinct from {{ right }}.{{ key }}{{ ' and ' if not loop.last }}{%- endfor -%}
{%- endmacro -%}


{#- A timestamp as integer microseconds since 1970-01-01 UTC: a naive one read as UTC,
    on DuckDB a TIMESTAMPTZ by its instant.
    DuckDB: https://duckdb.org/docs/stable/sql/functions/timestamp#epoch_ustimestamp
    Snowflake: https://docs.snowflake.com/en/sql-reference/functions/date_part
    Portable: whole seconds (floored: a cast would round .5 up) plus the microseconds. -#}
{%- macro featurestore_epoch_us_sql(ts, dialect) -%}
{%- if dialect == 'spark' -%}
{{ featurestore.featurestore_spark_epoch_us(ts) }}
{%- elif dialect == 'duckdb' -%}
epoch_us({{ ts }})
{%- elif dialect == 'snowflake' -%}
date_part(epoch_microsecond, {{ ts }})
{%- else -%}
(cast(floor(extract(epoch from {{ ts }})) as bigint) * 1000000 + cast(extract(microseconds from {{ ts }}) as bigint) % 1000000)
{%- endif -%}
{%- endmacro -%}


{#- Integer epoch microseconds back to a naive UTC timestamp.
    DuckDB: https://duckdb.org/docs/stable/sql/functions/timestamp#make_timestampmicroseconds
    Snowflake: https://docs.snowflake.com/en/sql-reference/functions/to_timestamp (scale 6)
    Portable: days, seconds and microseconds as intervals (each factor stays small). -#}
{%- macro featurestore_from_epoch_us_sql(us, dialect) -%}
{%- if dialect == 'spark' -%}
{{ featurestore.featurestore_spark_from_epoch_us(us) }}
{%- elif dialect == 'duckdb' -%}
make_timestamp({{ us }})
{%- elif dialect == 'snowflake' -%}
to_timestamp_ntz({{ us }}, 6)
{%- else -%}
(timestamp '1970-01-01 00:00:00'
    + cast(floor(({{ us }}) / 86400000000.0) as bigint) * interval '1 day'
    + cast(floor((({{ us }}) - cast(floor(({{ us }}) / 86400000000.0) as bigint) * 86400000000) / 1000000.0) as bigint) * interval '1 second'
    + cast((({{ us }}) - cast(floor(({{ us }}) / 1000000.0) as bigint) * 1000000) as bigint) * interval '1 microsecond')
{%- endif -%}
{%- endmacro -%}


{#- An expression that stops the query with `message` (a SQL string expression) when
    evaluated. DuckDB: https://duckdb.org/docs/stable/sql/functions/utility#errormessage
    Elsewhere the message is cast to a number, which fails quoting it. -#}
{%- macro featurestore_fail_sql(message, dialect) -%}
{%- if dialect == 'spark' -%}
{{ featurestore.featurestore_spark_fail(message) }}
{%- elif dialect == 'duckdb' -%}
error({{ message }})
{%- else -%}
(cast({{ message }} as integer) = 0)
{%- endif -%}
{%- endmacro -%}


{#- The adapter-dispatched spellings of the helpers above (dbt only). -#}
{% macro featurestore_epoch_us(ts) %}
    {{ return(adapter.dispatch('featurestore_epoch_us', 'featurestore')(ts)) }}
{% endmacro %}

{% macro duckdb__featurestore_epoch_us(ts) -%}
{{ featurestore.featurestore_epoch_us_sql(ts, 'duckdb') }}
{%- endmacro %}

{% macro snowflake__featurestore_epoch_us(ts) -%}
{{ featurestore.featurestore_epoch_us_sql(ts, 'snowflake') }}
{%- endmacro %}

{% macro default__featurestore_epoch_us(ts) -%}
{{ featurestore.featurestore_epoch_us_sql(ts, 'default') }}
{%- endmacro %}

{% macro featurestore_from_epoch_us(us) %}
    {{ return(adapter.dispatch('featurestore_from_epoch_us', 'featurestore')(us)) }}
{% endmacro %}

{% macro duckdb__featurestore_from_epoch_us(us) -%}
{{ featurestore.featurestore_from_epoch_us_sql(us, 'duckdb') }}
{%- endmacro %}

{% macro snowflake__featurestore_from_epoch_us(us) -%}
{{ featurestore.featurestore_from_epoch_us_sql(us, 'snowflake') }}
{%- endmacro %}

{% macro default__featurestore_from_epoch_us(us) -%}
{{ featurestore.featurestore_from_epoch_us_sql(us, 'default') }}
{%- endmacro %}
