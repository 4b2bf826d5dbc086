{#- The column names of `relation` as the warehouse has them, or none when they cannot
    be asked: while dbt parses (no `execute`), for a relation given as a plain string (a
    CTE name) or one not built yet. dbt only. -#}
{% macro featurestore_relation_columns(relation) %}
    {%- if not execute or relation is string or relation is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(relation) -%}
    {{ return(columns | map(attribute='name') | list if columns else none) }}
{% endmacro %}
