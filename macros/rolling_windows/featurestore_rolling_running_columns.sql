{#- The (input, window) pairs the running-sum body keeps a column for: counts (for count
    and avg) and exact sums (for sum and avg), as {counts: [[i, k]], sums: [[i, k]]}. -#}
{%- macro featurestore_rolling_running_columns(spec) -%}
{%- set counts = [] -%}
{%- set sums = [] -%}
{%- for aggregate in spec['aggregates'] -%}
    {%- set pair = [aggregate['input'], aggregate['window']] -%}
    {%- if aggregate['agg'] in ['count', 'avg'] and pair not in counts -%}
        {%- do counts.append(pair) -%}
    {%- endif -%}
    {%- if aggregate['agg'] in ['sum', 'avg'] and pair not in sums -%}
        {%- do sums.append(pair) -%}
    {%- endif -%}
{%- endfor -%}
{{ return({'counts': counts, 'sums': sums}) }}
{%- endmacro -%}
