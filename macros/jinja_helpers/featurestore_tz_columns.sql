{#- The names among `names` (matched case-insensitively, returned as given) whose column
    in `relation` is timezone-aware (featurestore_is_tz_type), asked of the warehouse by
    the public point-in-time macros (as_of_join, as_of_join_specs, feature_timeline_of).
    Empty while dbt parses (no `execute`), for a relation given as a plain string (a CTE
    name: nothing to ask), and for a relation not built yet. dbt only. -#}
{% macro featurestore_tz_columns(relation, names) %}
    {%- if not execute or relation is string or relation is none -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set aware = [] -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
        {%- if featurestore.featurestore_is_tz_type(column.dtype) -%}
            {%- do aware.append(column.name | lower) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(featurestore.featurestore_names_in(names, aware)) }}
{% endmacro %}
