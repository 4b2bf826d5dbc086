{#- rolling_windows' other arguments, checked (featurestore_rolling_spec): each last value
    a mapping with name, expr and order_by; sum_scale 0 to 30; too_late skip or fail; an
    incremental run (`previous`) only with loaded_at; partitions a whole number from 1;
    statements true or false. -#}
{% macro featurestore_rolling_check_options(last_values, sum_scale, too_late, previous, loaded_at, partitions=1, statements=false) %}
    {%- for last in last_values -%}
        {%- for field in ['name', 'expr', 'order_by'] -%}
            {%- if last is not mapping or not last.get(field) -%}
                {{ exceptions.raise_compiler_error(
                    "rolling_windows: last value " ~ last ~ " is missing `" ~ field
                    ~ "`; each needs name, expr and order_by.") }}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if sum_scale is not number or sum_scale < 0 or sum_scale > 30 or sum_scale != sum_scale | int -%}
        {{ exceptions.raise_compiler_error(
            "rolling_windows: `sum_scale` must be a whole number of decimal places from 0 "
            ~ "to 30, not " ~ sum_scale ~ ".") }}
    {%- endif -%}
    {%- if too_late not in ['skip', 'fail'] -%}
        {{ exceptions.raise_compiler_error(
            "rolling_windows: `too_late` must be 'skip' or 'fail', not " ~ too_late ~ ".") }}
    {%- endif -%}
    {%- if previous is not none and previous is not false and not loaded_at -%}
        {{ exceptions.raise_compiler_error(
            "rolling_windows: an incremental run needs `loaded_at`: the watermark is the "
            ~ "model's max(loaded_at). Pass loaded_at='<column>' or materialize the model "
            ~ "as a table.") }}
    {%- endif -%}
    {%- if partitions is not number or partitions is sameas true or partitions is sameas false
          or partitions < 1 or partitions > 4096 or partitions != partitions | int -%}
        {{ exceptions.raise_compiler_error(
            "rolling_windows: `partitions` must be a whole number from 1 to 4096 (how many "
            ~ "buckets of entities to compute one after the other), not " ~ partitions ~ ".") }}
    {%- endif -%}
    {%- if statements is not sameas true and statements is not sameas false -%}
        {{ exceptions.raise_compiler_error(
            "rolling_windows: `statements` (var featurestore_rolling_statements) must be "
            ~ "true or false, not " ~ statements ~ ".") }}
    {%- endif -%}
{% endmacro %}
