{#-
  Generic dbt tests of featurestore. Each returns the failing rows (dbt counts them);
  tests/offline/test_macros_dbt.py proves each one can fail. Written here because
  `dbt deps` cannot reach the hub (no dbt-utils / dbt-expectations).
-#}

{#- One row per combination: returns each duplicated combination with its count. -#}
{% test featurestore_unique_combination(model, combination_of_columns) %}
{%- if combination_of_columns is string or combination_of_columns | length == 0 -%}
    {{ exceptions.raise_compiler_error(
        "featurestore_unique_combination on " ~ model ~ ": `combination_of_columns` must be "
        ~ "a non-empty list of column names, e.g. ['user_id', 'feature_ts'].") }}
{%- endif -%}
{%- set columns = combination_of_columns | join(', ') %}
select
    {{ columns }},
    count(*) as n_rows
from {{ model }}
group by {{ columns }}
having count(*) > 1
{% endtest %}


{#- Values within [min_value, max_value], both inclusive; either bound may be null
    (unbounded). Nulls are not checked here (not_null does that). -#}
{% test featurestore_between(model, column_name, min_value=none, max_value=none) %}
{%- if min_value is none and max_value is none -%}
    {{ exceptions.raise_compiler_error(
        "featurestore_between on " ~ model ~ "." ~ column_name ~ ": give `min_value`, "
        ~ "`max_value` or both.") }}
{%- endif %}
select *
from {{ model }}
where {{ column_name }} is not null
  and (
      false
      {%- if min_value is not none %}
      or {{ column_name }} < {{ min_value }}
      {%- endif %}
      {%- if max_value is not none %}
      or {{ column_name }} > {{ max_value }}
      {%- endif %}
  )
{% endtest %}


{#- A point-in-time training model never uses a feature value from the future:
    returns the rows where some `<view>__feature_ts` column is later than `event_ts`.
    The columns are read from the built relation; before it exists (`dbt compile` on an
    empty warehouse) the query only selects from it, so running it still fails loudly. -#}
{% test no_future_leakage(model, event_ts='event_ts') %}
{%- if execute and load_relation(model) is not none -%}
    {%- set ts_columns = [] -%}
    {%- for column in adapter.get_columns_in_relation(model) -%}
        {%- if (column.name | lower).endswith('__feature_ts') -%}
            {%- do ts_columns.append(column.name) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if ts_columns | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "no_future_leakage on " ~ model ~ ": no `<view>__feature_ts` column found; "
            ~ "apply this test to a training model built with as_of_join.") }}
    {%- endif %}
select *
from {{ model }}
where false
    {%- for column in ts_columns %}
    or {{ column }} > {{ event_ts }}
    {%- endfor %}
{%- else %}
select * from {{ model }} where false
{%- endif %}
{% endtest %}


{#- Same rows, same multiplicity (both directions of EXCEPT ALL); returns the rows of
    either side that the other lacks. Used by the macro tests against *_expected seeds. -#}
{% test featurestore_equality(model, compare_model) %}
with
    actual as (select * from {{ model }}),
    expected as (select * from {{ compare_model }}),
    missing as (select 'missing' as diff, * from (select * from expected except all select * from actual) as m),
    unexpected as (select 'unexpected' as diff, * from (select * from actual except all select * from expected) as u)
select * from missing
union all
select * from unexpected
{% endtest %}
