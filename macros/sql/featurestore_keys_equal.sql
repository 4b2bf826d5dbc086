{#- "a.k1 = b.k1 and a.k2 = b.k2": keys join column by column, never concatenated. -#}
{%- macro featurestore_keys_equal(keys, left, right) -%}
{%- for key in keys -%}{{ left }}.{{ key }} = {{ right }}.{{ key }}{{ ' and ' if not loop.last }}{%- endfor -%}
{%- endmacro -%}
