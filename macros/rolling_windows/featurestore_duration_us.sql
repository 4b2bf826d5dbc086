{#- '90s', '15m', '1h', '7d', '2w' -> microseconds, as digits (the units of
    featurestore/durations.py). -#}
{%- macro featurestore_duration_us(text, what='window') -%}
    {%- set units = {'s': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800} -%}
    {%- set text = text | string | trim -%}
    {%- set number = text[:-1] -%}
    {%- if text[-1:] not in units or not number.isdigit() or number | int == 0 -%}
        {{ exceptions.raise_compiler_error(
            "rolling_windows: " ~ what ~ " `" ~ text ~ "` is not a duration; write it like "
            ~ "90s, 15m, 1h, 7d or 2w.") }}
    {%- endif -%}
    {{- number | int * units[text[-1:]] * 1000000 -}}
{%- endmacro -%}
