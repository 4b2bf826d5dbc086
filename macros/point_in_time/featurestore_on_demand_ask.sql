{#- One item of as_of_join's `views` that names an on-demand view (`view`, `view@vN`,
    `view:feature`, `view@vN:feature`): its features go to `wanted[view]` in the order
    asked (a whole view: every feature not asked yet, in contract order), as
    `featurestore training-set` orders them. An on-demand view has one version. -#}
{% macro featurestore_on_demand_ask(view, asked_name, parts, order, wanted) %}
    {%- set name = view['name'] -%}
    {%- if '@' in asked_name and asked_name != name ~ '@v' ~ view['version'] -%}
        {{ exceptions.raise_compiler_error(
            "as_of_join: on-demand view `" ~ name ~ "` has no version `" ~ asked_name.split('@', 1)[1]
            ~ "`; its version: v" ~ view['version'] ~ ".") }}
    {%- endif -%}
    {%- if name not in wanted -%}
        {%- do order.append(name) -%}
        {%- do wanted.update({name: []}) -%}
    {%- endif -%}
    {%- set known = view['features'] | map(attribute='name') | list -%}
    {%- set asked = known if parts | length == 1 else [parts[1] | trim] -%}
    {%- for feature_name in asked -%}
        {%- if feature_name not in known -%}
            {{ exceptions.raise_compiler_error(
                "as_of_join: on-demand view `" ~ name ~ "` has no feature `" ~ feature_name
                ~ "`; its features: " ~ (known | join(', ')) ~ ".") }}
        {%- endif -%}
        {%- if feature_name not in wanted[name] -%}
            {%- do wanted[name].append(feature_name) -%}
        {%- endif -%}
    {%- endfor -%}
{% endmacro %}
