{#- The select list every join body ends with: the spine's columns (`spine_alias`), then
    per view its feature columns. One macro, so the bodies cannot drift in what a
    training set's columns are or in their order. -#}
{%- macro featurestore_output_select(spine_alias, specs, event, aware_feature_ts=false) -%}
select
            {{ spine_alias }}.*,
{%- for spec in specs %}
            {{- featurestore.featurestore_feature_columns(spec, event, aware_feature_ts) }}{{ ',' if not loop.last }}
{%- endfor %}
{%- endmacro -%}
