{#- '90s', ... -> seconds (kept for projects that call it; dbt only). -#}
{% macro featurestore_duration_seconds(text) %}
    {{ return((featurestore.featurestore_duration_us(text) | trim | int) // 1000000) }}
{% endmacro %}
