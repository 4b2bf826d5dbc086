{#- Values of `values` only; nulls pass (not_null checks them). Returns each other value
    with its count. dbt's accepted_values, except that each value is written as a SQL
    literal of the warehouse (featurestore_literal, macros/sql/featurestore_literal.sql):
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
