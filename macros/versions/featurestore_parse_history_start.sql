{#- The `featurestore_history_from` variable as a UTC time text, or a stop with the fix. -#}
{% macro featurestore_parse_history_start(text) %}
    {%- set found = modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{1,6})?)?)?', text | trim) -%}
    {%- if not found -%}
        {{ exceptions.raise_compiler_error(
            "featurestore_history_from must be an ISO-8601 date or time in UTC, like "
            ~ "2026-05-01 or 2026-05-01T12:00:00; got " ~ text ~ ".") }}
    {%- endif -%}
    {{ return(text | trim | replace('T', ' ')) }}
{% endmacro %}
