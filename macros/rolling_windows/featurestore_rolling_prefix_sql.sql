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
{%- macro featurestore_rolling_prefix_sql(spec) -%}
{#- incremental and no min/max: instants no lookup can land on are summed up (a') -#}
{%- set compact = spec['previous'] and not spec['minmax'] -%}
{%- set instants = '_rw_compact' if compact else '_rw_instants' -%}
with

{{ featurestore.featurestore_rolling_input_ctes(spec) }}
{{ featurestore.featurestore_rolling_instants_cte(spec) }}
{%- if compact %}
{{ featurestore.featurestore_rolling_compact_cte(spec) }}
{%- endif %}
{{ featurestore.featurestore_rolling_prefix_ctes(spec, instants) }}
{{ featurestore.featurestore_rolling_marker_ctes(spec, instants) }}
{{ featurestore.featurestore_rolling_counter_ctes(spec) }}
{{ featurestore.featurestore_rolling_lookup_cte(spec) }}

{{ featurestore.featurestore_rolling_output(spec, '_rw_windowed') }}
{%- endmacro -%}
