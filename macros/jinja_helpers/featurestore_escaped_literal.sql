{#- true/false, a number as it is, text between quotes with quotes doubled (and, where
    a backslash escapes, backslashes doubled): the shared part of featurestore_literal. -#}
{% macro featurestore_escaped_literal(value, backslash_escapes) %}
    {%- if value is sameas true or value is sameas false -%}
        {{- return('true' if value else 'false') -}}
    {%- elif value is number -%}
        {{- return(value | string) -}}
    {%- elif value is string -%}
        {%- set text = value | replace('\\', '\\\\') if backslash_escapes else value -%}
        {{- return("'" ~ text | replace("'", "''") ~ "'") -}}
    {%- endif -%}
    {{ exceptions.raise_compiler_error(
        "featurestore_literal: " ~ value ~ " is not text, a number, true or false.") }}
{% endmacro %}
