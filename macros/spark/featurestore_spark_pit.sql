{#-
  The point-in-time bodies on Spark (dbt-spark, and Databricks through dbt-databricks'
  fallback to `spark__`). Plain Jinja, so featurestore/sql_render.py renders them
  outside dbt too (dialect 'spark').

  Spark SQL has no ASOF JOIN, and a range join on validity intervals (the portable
  body) is a non-equi join: Spark runs it as a hash join on the keys followed by a
  filter, so every spine row meets every row of its entity (a hot entity makes it
  quadratic), and the intervals cost one more window pass and a sort of their own.
  Instead, per view, the spine rows and the view's candidate rows go into one stream,
  partitioned by the keys and ordered by time (candidates before spine rows at the same
  instant: a value written at t is visible at t), and `last(pick, true)` over the rows
  so far carries the latest candidate down to each spine row: one shuffle and one sort
  per view, linear in spine + history, no join at all.
    https://spark.apache.org/docs/latest/api/sql/#last
    https://spark.apache.org/docs/latest/sql-ref-syntax-qry-select-window.html
-#}

{#- Spark: union of spine and feature rows, last(..., true) over a running window. -#}
{% macro spark__as_of_join_specs(spine, specs, event_ts='event_ts', known_at_event=false, spine_utc=false) %}
{{- featurestore.featurestore_spark_asof_body(spine, specs, event_ts, known_at_event, spine_utc) -}}
{% endmacro %}


{#-
  The spine travels as one struct column (`_fs_spine`), so each view's pass carries its
  columns whole, whatever they are, and the output unpacks it in its own order; its
  event time as naive UTC rides along in `_fs_event_ts`. Pass i adds one struct column
  named after the view, holding the chosen row's `_fs_feature_ts` and features (null
  when none), which featurestore_feature_columns then reads as `<view>.<feature>`.
  A candidate with a null key or time can never be picked, so it stays out of the
  stream; a spine row with a null key or time is still in it (it comes out with the
  defaults): its partition or its place (nulls sort first) has no candidate before it.
-#}
{%- macro featurestore_spark_asof_body(spine, specs, event_ts, known_at_event, spine_utc=false) -%}
{%- set spine_ts = featurestore.featurestore_spark_ident(event_ts) -%}
{%- set event = featurestore.featurestore_utc_naive(spine_ts, 'spark') if spine_utc else spine_ts -%}
with

    -- 1. The spine: every row is kept, duplicates and null keys included, packed into
    --    one struct; its event time {{- ' as naive UTC' if spine_utc }} in _fs_event_ts.
    _fs_pass_0 as (
        select
            struct(*) as _fs_spine,
            {{ event }} as _fs_event_ts
        from {{ spine }}
    ),
{% for spec in specs %}
{%- set view = spec['name'] %}
{%- set done = specs[:loop.index0] %}
{%- set asof = featurestore.featurestore_asof_column(spec, known_at_event) %}
    -- {{ loop.index + 1 }}a. `{{ view }}`: the rows the join may pick, one per (keys, time)
    --    ({{ 'eligible once known: created_ts <= t' if known_at_event and spec.get('created_timestamp') else 'a later created_ts wins a tie on feature_ts' }}).
{{ featurestore.featurestore_candidate_ctes(view ~ '__rows', spec['relation'], spec, known_at_event, false, 'spark') }},

    -- {{ loop.index + 1 }}b. `{{ view }}`: spine rows and candidate rows in one stream, keyed by
    --    the view's keys; a candidate sorts before a spine row at the same instant.
    {{ view }}__stream as (
        select
            {%- for key in spec['keys'] %}
            _fs_spine.{{ key }} as _fs_key_{{ loop.index0 }},
            {%- endfor %}
            _fs_event_ts as _fs_t,
            1 as _fs_is_spine,
            _fs_spine,
            _fs_event_ts,
            {%- for earlier in done %}
            {{ earlier['name'] }},
            {%- endfor %}
            null as _fs_pick
        from _fs_pass_{{ loop.index0 }}
        union all
        select
            {%- for key in spec['keys'] %}
            {{ key }},
            {%- endfor %}
            {{ asof }},
            0,
            null,
            null,
            {%- for earlier in done %}
            null,
            {%- endfor %}
            named_struct(
                '_fs_feature_ts', _fs_feature_ts
                {%- for feature in spec['features'] %},
                '{{ feature['name'] }}', {{ feature['name'] }}
                {%- endfor %}
            )
        from {{ view }}__rows
        where {% for key in spec['keys'] %}{{ key }} is not null and {% endfor %}{{ asof }} is not null
    ),

    -- {{ loop.index + 1 }}c. `{{ view }}`: each spine row takes the last candidate at or before it.
    {{ view }}__carried as (
        select
            _fs_is_spine,
            _fs_spine,
            _fs_event_ts,
            {%- for earlier in done %}
            {{ earlier['name'] }},
            {%- endfor %}
            last(_fs_pick, true) over (
                partition by {% for key in spec['keys'] %}_fs_key_{{ loop.index0 }}{{ ', ' if not loop.last }}{% endfor %}
                order by _fs_t, _fs_is_spine
                rows between unbounded preceding and current row
            ) as {{ view }}
        from {{ view }}__stream
    ),

    _fs_pass_{{ loop.index }} as (
        select
            _fs_spine,
            _fs_event_ts,
            {%- for earlier in done %}
            {{ earlier['name'] }},
            {%- endfor %}
            case when _fs_event_ts is not null then {{ view }} end as {{ view }}
        from {{ view }}__carried
        where _fs_is_spine = 1
    ),
{% endfor %}
    -- {{ specs | length + 2 }}. The spine's columns, then per view its features (expired (TTL) or
    --    absent rows give the contract's defaults) and its feature_ts.
    final as (
        select
            _fs_spine.*,
{%- for spec in specs %}
            {{- featurestore.featurestore_feature_columns(spec, '_fs_event_ts', 'spark', spine_utc) }}{{ ',' if not loop.last }}
{%- endfor %}
        from _fs_pass_{{ specs | length }}
    )

select * from final
{%- endmacro -%}


{#-
  Validity intervals on Spark: the shared shape (featurestore_timeline_sql), with the
  corrections kept by row_number in a subquery (Spark SQL has no QUALIFY) and the row
  carried as a struct, so the result has exactly the view's columns plus the three.
    https://spark.apache.org/docs/latest/api/sql/#row_number
-#}
{% macro spark__feature_timeline(relation, spec) %}
{{ featurestore.featurestore_timeline_sql(relation, spec, 'spark') }}
{% endmacro %}
