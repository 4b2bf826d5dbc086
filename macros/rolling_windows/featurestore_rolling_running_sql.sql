{#-
  Running-sum body (Spark): every window's value as one running sum per entity, no
  frame that slides and no lookup join.
    a. Entries and exits (_rw_marks): each event adds its inputs (a count of 1 and the
       exact DECIMAL value) to one column per (input, window) pair; for each window w,
       an exit row at its time + w (up to the horizon, for the events that feed an
       aggregate over w) subtracts them again from that window's columns.
    b. One row per change point (_rw_changes): the entries and exits of one instant
       summed (a group by; the rows are first distributed by the keys alone, so the
       running sums that follow need no second shuffle).
    c. Running sums per entity over the change points (_rw_running): at t, a window
       column holds the events at or before t minus those whose exit is at or before t,
       i.e. exactly the events in (t - w, t]. Integers and DECIMAL, so an empty window is
       exactly 0 and a sum has the RANGE body's bits. loaded_at is a running max, the
       last values the last non-null candidate (ignore nulls), min and max RANGE frames.
  It is the DuckDB body's prefix difference, prefix(t) - prefix(t - w), with the
  subtraction done by the exit rows inside the one running sum, so Spark needs neither
  DuckDB's packed HUGEINT counters nor its index lookups (joins, i.e. shuffles).
-#}
{%- macro featurestore_rolling_running_sql(spec) -%}
with

{{ featurestore.featurestore_rolling_input_ctes(spec) }}
{{ featurestore.featurestore_rolling_exit_ctes(spec) }}
{{ featurestore.featurestore_rolling_running_ctes(spec) }}

{{ featurestore.featurestore_rolling_output(spec, '_rw_windowed') }}
{%- endmacro -%}

