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
  One bucket of entities (spec['partition'], featurestore_rolling_partitions_sql): the
  input rows are those of the bucket's entities, and _rw_previous and _rw_horizon are
  the enclosing query's, over every entity (the horizon is the whole input's).
-#}
{%- macro featurestore_rolling_input_ctes(spec) -%}
{%- set keys = featurestore.featurestore_key_list(spec['keys']) -%}
    -- 1. The events, with time as integer epoch microseconds and the inputs numbered.
    _rw_source as (
        select
            {{ keys }},
            {{ featurestore.featurestore_epoch_us(spec['event_ts']) }} as _rw_ts_us,
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
        {%- if spec.get('bucket_column') %}
            and {{ spec['bucket_column'] }} = {{ spec['partition'] }}
        {%- elif spec['partition'] is not none %}
            and {{ featurestore.featurestore_key_bucket(spec['keys'], spec['partitions']) }} = {{ spec['partition'] }}
        {%- endif %}
        {%- if spec.get('after') %}
            -- after the previous bucket (duckdb__featurestore_rolling_buckets)
            and (select count(*) from {{ spec['after'] }}) >= 0
        {%- endif %}
    ),
{%- if not spec['previous'] %}

    _rw_events as (
        select * from _rw_source
    ),
{%- if spec['partition'] is none %}

    _rw_horizon as (
        select max(_rw_ts_us) as _rw_horizon_us from _rw_source
    ),
{%- endif %}
{%- else %}
{{- featurestore.featurestore_rolling_new_events_ctes(spec) -}}
{{- featurestore.featurestore_rolling_starts_cte(spec) -}}
{{- featurestore.featurestore_rolling_carry_ctes(spec) }}
{%- endif %}
{%- endmacro -%}
