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
  e + w is exactly its expiry change point. Implemented portably as a RANGE frame over
  integer epoch microseconds with offset w_us - 1 ("w_us - 1 preceding" includes
  ts >= t - w_us + 1, i.e. ts > t - w_us), with the epoch conversion dispatched per
  adapter.

  Values per row: `count` counts the non-null inputs (0 when the window is empty),
  `sum` is 0 when the window is empty, `avg`, `min`, `max` are null then. `last_values`
  carry the input of the latest event at or before the row (ties at one instant: the
  greatest `order_by`; a null input falls back to the previous event's).

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
    loaded_at     optional column: when each input row landed in the warehouse
    last_values   optional list of {name, expr, order_by}
    feature_ts    name of the output time column (default feature_ts)

  Output columns: partition_by..., feature_ts, loaded_at (when given), each aggregate,
  each last value; in that order. The result is a complete `with ... select` query:
  use it as a CTE body, `windows as ( {{ rolling_windows(...) }} )`.
-#}

{% macro rolling_windows(relation, partition_by, event_ts, aggregates, loaded_at=none, last_values=[], feature_ts='feature_ts') %}
    {{ return(adapter.dispatch('rolling_windows', 'featurestore')(relation, partition_by, event_ts, aggregates, loaded_at, last_values, feature_ts)) }}
{% endmacro %}

{% macro default__rolling_windows(relation, partition_by, event_ts, aggregates, loaded_at, last_values, feature_ts) %}
    {%- if partition_by is string or partition_by | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "rolling_windows: `partition_by` must be a non-empty list of key columns, e.g. "
            ~ "['user_id'], not " ~ partition_by ~ ".") }}
    {%- endif -%}
    {%- if aggregates is string or aggregates | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "rolling_windows: `aggregates` must be a non-empty list of "
            ~ "{name, agg, expr, window} mappings.") }}
    {%- endif -%}
    {%- set keys = partition_by | join(', ') -%}
    {%- set window_us = {} -%}
    {%- set window_inputs = {} -%}
    {%- for aggregate in aggregates -%}
        {%- for field in ['name', 'agg', 'expr', 'window'] -%}
            {%- if not aggregate.get(field) -%}
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
        {%- do window_us.update({aggregate['window']: featurestore.featurestore_duration_seconds(aggregate['window']) * 1000000}) -%}
        {%- do window_inputs.setdefault(aggregate['window'], []).append('_rw_in_' ~ loop.index) -%}
    {%- endfor -%}
    {%- set frame_order = 'partition by ' ~ keys ~ ' order by _rw_ts_us' %}
    with

    -- 1. The events, with time as integer epoch microseconds and the inputs numbered.
    _rw_events as (
        select
            {{ keys }},
            {{ featurestore.featurestore_epoch_us(event_ts) }} as _rw_ts_us,
            {%- if loaded_at %}
            {{ loaded_at }} as _rw_loaded_at,
            {%- endif %}
            {%- for aggregate in aggregates %}
            {{ aggregate['expr'] }} as _rw_in_{{ loop.index }},
            {%- endfor %}
            {%- for last in last_values %}
            case
                when row_number() over (
                    partition by {{ keys }}, {{ event_ts }}
                    order by {{ last['order_by'] }} desc
                ) = 1 then {{ last['expr'] }}
            end as _rw_last_{{ loop.index }},
            {%- endfor %}
            0 as _rw_is_point
        from {{ relation }}
        where {{ event_ts }} is not null
    ),

    -- 2. Change points: each event time, and each event time + window for the events
    --    that feed an aggregate over that window; never past the newest event time.
    _rw_points as (
        select distinct
            {{ keys }},
            _rw_ts_us
        from (
            select {{ keys }}, _rw_ts_us from _rw_events
            {%- for window, us in window_us.items() | sort %}
            union all
            select {{ keys }}, _rw_ts_us + {{ us }} as _rw_ts_us
            from _rw_events
            where
                {%- for input in window_inputs[window] %}
                {{ 'or ' if not loop.first }}{{ input }} is not null
                {%- endfor %}
            {%- endfor %}
        ) as _rw_candidates
        where _rw_ts_us <= (select max(_rw_ts_us) from _rw_events)
    ),

    -- 3. Events and change points in one stream; the points carry no inputs.
    _rw_stacked as (
        select * from _rw_events
        union all
        select
            {{ keys }},
            _rw_ts_us,
            {%- if loaded_at %}
            null,
            {%- endif %}
            {%- for aggregate in aggregates %}
            null,
            {%- endfor %}
            {%- for last in last_values %}
            null,
            {%- endfor %}
            1
        from _rw_points
    ),

    -- 4. Every window over (t - w, t]: a RANGE frame of w_us - 1 microseconds back.
    _rw_windowed as (
        select
            {{ keys }},
            _rw_ts_us,
            _rw_is_point,
            {%- if loaded_at %}
            max(_rw_loaded_at) over (
                {{ frame_order }} range between unbounded preceding and current row
            ) as _rw_loaded_at,
            {%- endif %}
            {%- for aggregate in aggregates %}
            {%- set input = '_rw_in_' ~ loop.index %}
            {%- set call = {
                'count': 'count(' ~ input ~ ')',
                'sum': 'sum(' ~ input ~ ')',
                'avg': 'avg(' ~ input ~ ')',
                'min': 'min(' ~ input ~ ')',
                'max': 'max(' ~ input ~ ')'}[aggregate['agg']] %}
            {{ 'coalesce(' if aggregate['agg'] == 'sum' }}{{ call }} over (
                {{ frame_order }}
                range between {{ window_us[aggregate['window']] - 1 }} preceding and current row
            ){{ ', 0)' if aggregate['agg'] == 'sum' }} as {{ aggregate['name'] }},
            {%- endfor %}
            {%- for last in last_values %}
            {{ featurestore.featurestore_last_value_ignore_nulls('_rw_last_' ~ loop.index) }} over (
                {{ frame_order }} range between unbounded preceding and current row
            ) as {{ last['name'] }},
            {%- endfor %}
            0 as _rw_unused
        from _rw_stacked
    )

    -- 5. One row per entity per change point.
    select
        {{ keys }},
        {{ featurestore.featurestore_from_epoch_us('_rw_ts_us') }} as {{ feature_ts }},
        {%- if loaded_at %}
        _rw_loaded_at as loaded_at,
        {%- endif %}
        {%- for aggregate in aggregates %}
        {{ aggregate['name'] }}{{ ',' if not loop.last or last_values }}
        {%- endfor %}
        {%- for last in last_values %}
        {{ last['name'] }}{{ ',' if not loop.last }}
        {%- endfor %}
    from _rw_windowed
    where _rw_is_point = 1
{% endmacro %}


{#- '90s', '15m', '1h', '7d', '2w' -> seconds (the units of featurestore/durations.py). -#}
{% macro featurestore_duration_seconds(text) %}
    {%- set units = {'s': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800} -%}
    {%- set text = text | string | trim -%}
    {%- set number = text[:-1] -%}
    {%- if text[-1:] not in units or not number.isdigit() or number | int == 0 -%}
        {{ exceptions.raise_compiler_error(
            "rolling_windows: window `" ~ text ~ "` is not a duration; write it like "
            ~ "90s, 15m, 1h, 7d or 2w.") }}
    {%- endif -%}
    {{ return(number | int * units[text[-1:]]) }}
{% endmacro %}


{#- A timestamp as integer microseconds since 1970-01-01 UTC: a naive one read as UTC,
    on DuckDB a TIMESTAMPTZ by its instant. -#}
{% macro featurestore_epoch_us(ts) %}
    {{ return(adapter.dispatch('featurestore_epoch_us', 'featurestore')(ts)) }}
{% endmacro %}

{#- https://duckdb.org/docs/stable/sql/functions/timestamp#epoch_ustimestamp -#}
{% macro duckdb__featurestore_epoch_us(ts) -%}
epoch_us({{ ts }})
{%- endmacro %}

{#- https://docs.snowflake.com/en/sql-reference/functions/date_part -#}
{% macro snowflake__featurestore_epoch_us(ts) -%}
date_part(epoch_microsecond, {{ ts }})
{%- endmacro %}

{#- Portable fallback through whole seconds plus the microsecond remainder. -#}
{% macro default__featurestore_epoch_us(ts) -%}
(cast(extract(epoch from {{ ts }}) as bigint) * 1000000 + cast(extract(microseconds from {{ ts }}) as bigint) % 1000000)
{%- endmacro %}


{#- Integer epoch microseconds back to a naive UTC timestamp. -#}
{% macro featurestore_from_epoch_us(us) %}
    {{ return(adapter.dispatch('featurestore_from_epoch_us', 'featurestore')(us)) }}
{% endmacro %}

{#- https://duckdb.org/docs/stable/sql/functions/timestamp#make_timestampmicroseconds -#}
{% macro duckdb__featurestore_from_epoch_us(us) -%}
make_timestamp({{ us }})
{%- endmacro %}

{#- https://docs.snowflake.com/en/sql-reference/functions/to_timestamp (scale 6) -#}
{% macro snowflake__featurestore_from_epoch_us(us) -%}
to_timestamp_ntz({{ us }}, 6)
{%- endmacro %}

{% macro default__featurestore_from_epoch_us(us) -%}
(timestamp '1970-01-01 00:00:00' + ({{ us }}) * interval '1 microsecond')
{%- endmacro %}


{#- last_value skipping nulls; the window clause follows the call. -#}
{% macro featurestore_last_value_ignore_nulls(expr) %}
    {{ return(adapter.dispatch('featurestore_last_value_ignore_nulls', 'featurestore')(expr)) }}
{% endmacro %}

{#- https://duckdb.org/docs/stable/sql/functions/window_functions (IGNORE NULLS inside) -#}
{% macro duckdb__featurestore_last_value_ignore_nulls(expr) -%}
last_value({{ expr }} ignore nulls)
{%- endmacro %}

{#- https://docs.snowflake.com/en/sql-reference/functions/last_value (IGNORE NULLS after) -#}
{% macro default__featurestore_last_value_ignore_nulls(expr) -%}
last_value({{ expr }}) ignore nulls
{%- endmacro %}
