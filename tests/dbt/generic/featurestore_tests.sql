{#-
  Generic dbt tests of featurestore. Each returns the failing rows (dbt counts them);
  tests/offline/test_macros_dbt.py and test_no_future_leakage.py prove each one can fail
  (allowed_values: tests/core/test_contract_text_dbt.py).

  Another dbt project that installs featurestore uses them qualified, as
  `featurestore.<name>` (what `featurestore generate` writes), so they never collide
  with a package of the same test names.

  unique_combination_of_columns, accepted_range and equality have the names and
  arguments of dbt-utils' tests of the same names: a team that knows those knows these.
  allowed_values is dbt's accepted_values with each value escaped (see below), under a
  name of its own: a package's test named accepted_values would replace dbt's built-in
  one in every project that installs featurestore.
  They are written here instead of depending on dbt-utils because featurestore must
  install with `dbt deps` where the dbt hub and git are unreachable (a `local:` package
  cannot pull dbt-utils from the hub either), and a dependency for a few small queries
  is a poor trade.
-#}

{#- One row per combination: returns each duplicated combination with its count.
    dbt-utils' unique_combination_of_columns, same arguments (quote_columns: quote
    each name, for columns with capitals or spaces). -#}
{% test unique_combination_of_columns(model, combination_of_columns, quote_columns=false) %}
{%- if combination_of_columns is string or combination_of_columns | length == 0 -%}
    {{ exceptions.raise_compiler_error(
        "unique_combination_of_columns on " ~ model ~ ": `combination_of_columns` must be "
        ~ "a non-empty list of column names, e.g. ['user_id', 'feature_ts'].") }}
{%- endif -%}
{%- set names = [] -%}
{%- for column in combination_of_columns -%}
    {%- do names.append(adapter.quote(column) if quote_columns else column) -%}
{%- endfor -%}
{%- set columns = names | join(', ') %}
select
    {{ columns }},
    count(*) as n_rows
from {{ model }}
group by {{ columns }}
having count(*) > 1
{% endtest %}


{#- Values within [min_value, max_value]: both bounds inclusive unless
    `inclusive: false`; either bound may be null (unbounded). Nulls pass (not_null
    checks them). dbt-utils' accepted_range, same arguments. -#}
{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}
{%- if min_value is none and max_value is none -%}
    {{ exceptions.raise_compiler_error(
        "accepted_range on " ~ model ~ "." ~ column_name ~ ": give `min_value`, "
        ~ "`max_value` or both.") }}
{%- endif %}
select *
from {{ model }}
where {{ column_name }} is not null
  and (
      false
      {%- if min_value is not none %}
      or {{ column_name }} {{ '<' if inclusive else '<=' }} {{ min_value }}
      {%- endif %}
      {%- if max_value is not none %}
      or {{ column_name }} {{ '>' if inclusive else '>=' }} {{ max_value }}
      {%- endif %}
  )
{% endtest %}


{#- Values of `values` only; nulls pass (not_null checks them). Returns each other value
    with its count. dbt's accepted_values, except that each value is written as a SQL
    literal of the warehouse (featurestore_literal, macros/featurestore_literals.sql):
    accepted_values pastes a value between quotes as it is, so a quote in it ends the
    string and the rest runs as SQL. -#}
{% test allowed_values(model, column_name, values) %}
{%- if values is string or values is mapping or values is not iterable or values | length == 0 -%}
    {{ exceptions.raise_compiler_error(
        "allowed_values on " ~ model ~ "." ~ column_name ~ ": `values` must be a non-empty "
        ~ "list, e.g. ['web', 'ios'].") }}
{%- endif %}
select
    {{ column_name }} as value_field,
    count(*) as n_records
from {{ model }}
where {{ column_name }} is not null
  and {{ column_name }} not in (
    {%- for value in values %}
      {{ featurestore.featurestore_literal(value) }}{{ ',' if not loop.last }}
    {%- endfor %}
  )
group by {{ column_name }}
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
    either side that the other lacks, with `diff` saying which. Used by the macro tests
    against *_expected seeds. dbt-utils' equality with its `compare_model` argument
    (columns compared by position; no compare_columns or precision). -#}
{% test equality(model, compare_model) %}
with
    actual as (select * from {{ model }}),
    expected as (select * from {{ compare_model }}),
    missing as (select 'missing' as diff, * from (select * from expected except all select * from actual) as m),
    unexpected as (select 'unexpected' as diff, * from (select * from actual except all select * from expected) as u)
select * from missing
union all
select * from unexpected
{% endtest %}
