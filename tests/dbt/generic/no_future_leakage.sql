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
