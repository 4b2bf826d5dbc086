{#- Keys equal column by column, a null key matching a null key: the bodies partition
    by the keys, and a null key is one more partition there. -#}
{%- macro featurestore_rw_keys_match(keys, left, right) -%}
{%- for key in keys -%}{{ left }}.{{ key }} is not distinct from {{ right }}.{{ key }}{{ ' and ' if not loop.last }}{%- endfor -%}
{%- endmacro -%}
