{#-
  A full build in one statement per bucket of entities (rolling_windows' `statements`,
  DuckDB). The one statement of featurestore_rolling_buckets must hold every finished
  bucket's rows until the last bucket is done: at 6.4M events they spill under a
  memory_limit and are read back, which cost the 200,000-user build 1.2 to 1.5x the time
  of the unbounded one. Statements that each end before the next begins stream a
  bucket's rows into the table and free its sorts as they go.

  The compiled SQL stays the one statement (dbt compile, dbt show and unit tests run it
  as it is), marked with a comment carrying what the statements need, as JSON:
    stage       the input's rows, each with its bucket, sorted by it (run once)
    head, tail  the windows of one bucket, reading the stage, before and after the
                bucket's number
    buckets     how many
  duckdb__create_table_as (featurestore_rolling_statement_list) turns a marked model
  into: the stage, then `create table` of the model over bucket 0 and an `insert` of it
  over each further bucket, then the stage dropped.

  Two conditions on the model, which is why this is asked for and never the default:
    1. the call is the whole body of one of the model's CTEs,
       `windows as ( {{ rolling_windows(...) }} )`, as its documentation shows; the
       stage is the model's own SQL up to that CTE, so a CTE input needs no table;
    2. the rest of the model reads the windows row by row (projections, casts,
       filters, joins to other relations): each statement sees one bucket's entities,
       so an aggregate or a window function across entities would see a part of them.
  A full build only: an incremental run is small, and runs as one statement.
-#}
{%- macro featurestore_rolling_statements(spec, sql) -%}
    {{ return(adapter.dispatch('featurestore_rolling_statements', 'featurestore')(spec, sql)) }}
{%- endmacro -%}

{#- Elsewhere the buckets stay one statement (the warehouse plans them). -#}
{%- macro default__featurestore_rolling_statements(spec, sql) -%}
    {{ return(sql) }}
{%- endmacro -%}

{%- macro duckdb__featurestore_rolling_statements(spec, sql) -%}
{%- set stage = '_featurestore_rw_input' -%}
{%- set column = '_featurestore_rw_bucket' -%}
{#- The body around its bucket's number, split at a token the model's own text does not
    hold (its expressions are the user's: any text at all) -#}
{%- set found = namespace(head=none, tail=none) -%}
{%- for attempt in range(8) if found.head is none -%}
{%- set token = '__featurestore_rw_bucket_' ~ attempt ~ '__' -%}
{%- set part = {} -%}
{%- do part.update(spec) -%}
{%- do part.update({'relation': stage, 'partition': token, 'bucket_column': column}) -%}
{%- set body -%}
with

{{ featurestore.featurestore_rolling_horizon_cte(spec, stage) }}

select * from (
{{ adapter.dispatch('rolling_windows', 'featurestore')(part) }}
) as _rw_bucket_rows
{%- endset -%}
{%- set pieces = body.split(token) -%}
{%- if pieces | length == 2 -%}
{%- set found.head = pieces[0] -%}
{%- set found.tail = pieces[1] -%}
{%- endif -%}
{%- endfor -%}
{%- if found.head is none -%}
    {{ exceptions.raise_compiler_error(
        "rolling_windows: the expressions hold every bucket token that `statements` "
        ~ "splits its SQL at (__featurestore_rw_bucket_0__ to _7__); set statements false.") }}
{%- endif -%}
{%- set plan = {
    'stage': 'select *, ' ~ featurestore.featurestore_key_bucket(spec['keys'], spec['partitions'])
             ~ ' as ' ~ column ~ ' from ' ~ spec['relation'] ~ ' where ' ~ spec['event_ts']
             ~ ' is not null order by ' ~ column,
    'stage_table': stage, 'head': found.head, 'tail': found.tail,
    'buckets': spec['partitions']} -%}
{#- JSON with every / escaped (\/, still JSON): no */ or /* can end or nest the comment -#}
/* featurestore:rolling_statements {{ plan | tojson | replace('/', '\\/') }} */
{{ sql }}
/* featurestore:rolling_statements:end */
{%- endmacro -%}
