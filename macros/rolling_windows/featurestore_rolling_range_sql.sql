{#-
  RANGE body: events and change points in one stream, one RANGE frame of w_us - 1
  microseconds back per aggregate ("w_us - 1 preceding" holds ts >= t - w_us + 1,
  i.e. ts > t - w_us). Sums over DECIMAL, as in the DuckDB body, so both give the same
  bits. Last values fill forward portably: a running count of non-null candidates
  numbers the stretches, and each stretch takes its one non-null value.
-#}
{%- macro featurestore_rolling_range_sql(spec) -%}
with

{{ featurestore.featurestore_rolling_input_ctes(spec) }}
{{ featurestore.featurestore_rolling_stream_ctes(spec) }}
{{ featurestore.featurestore_rolling_frame_ctes(spec) }}

{{ featurestore.featurestore_rolling_output(spec, '_rw_at_points') }}
{%- endmacro -%}
