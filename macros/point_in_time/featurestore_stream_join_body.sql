{#-
  The point-in-time body on Spark (spark__as_of_join_specs; dbt-spark, and Databricks
  through dbt-databricks' fallback to `spark__`).

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
{%- macro featurestore_stream_join_body(spine, specs, event_ts, known_at_event, spine_utc=false) -%}
{%- set spine_ts = featurestore.featurestore_ident(event_ts) -%}
{%- set event = featurestore.featurestore_utc_naive(spine_ts) if spine_utc else spine_ts -%}
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
{{- featurestore.featurestore_stream_join_pass(spec, loop.index, specs[:loop.index0], known_at_event) }}
{% endfor %}
    -- {{ specs | length + 2 }}. The spine's columns, then per view its features (expired (TTL) or
    --    absent rows give the contract's defaults) and its feature_ts.
    final as (
        {{ featurestore.featurestore_output_select('_fs_spine', specs, '_fs_event_ts', spine_utc) }}
        from _fs_pass_{{ specs | length }}
    )

select * from final
{%- endmacro -%}
