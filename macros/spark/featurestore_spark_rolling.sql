{#-
  Rolling windows on Spark: one RANGE frame of w_us - 1 microseconds back per aggregate
  over the epoch-microsecond time (the shared featurestore_rolling_range_sql, helpers
  spelled the Spark way: unix_micros, timestampadd, raise_error). Spark sorts each
  entity's events and change points once and evaluates every frame in that one pass.
  The DuckDB body's packed-counter prefix sums lean on HUGEINT bit fields and on
  arg_max over them, which Spark lacks (its DECIMAL(38) cannot hold four 31-bit
  counters plus an entity number), and its index lookups would be joins, i.e. more
  shuffles; sums stay exact (DECIMAL(38, sum_scale)), so Spark gives DuckDB's bits.
    https://spark.apache.org/docs/latest/sql-ref-syntax-qry-select-window.html
-#}

{#- Spark: RANGE frames with numeric offsets over epoch microseconds. -#}
{% macro spark__rolling_windows(spec) %}
{{- featurestore.featurestore_rolling_range_sql(spec, 'spark') -}}
{% endmacro %}
