{#- "k1, k2", or "alias.k1, alias.k2". -#}
{%- macro featurestore_key_list(keys, alias='') -%}
{%- for key in keys -%}{{ alias ~ '.' if alias }}{{ key }}{{ ', ' if not loop.last }}{%- endfor -%}
{%- endmacro -%}
