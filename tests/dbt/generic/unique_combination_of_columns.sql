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
