{#- The items of `names` whose lower case is in `lowered`, in order. -#}
{% macro featurestore_names_in(names, lowered) %}
    {%- set kept = [] -%}
    {%- for name in names -%}
        {%- if name is string and name | lower in lowered -%}
            {%- do kept.append(name) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(kept) }}
{% endmacro %}
