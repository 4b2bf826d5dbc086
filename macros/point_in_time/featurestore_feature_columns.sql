{#- The output columns of one view: each feature (default when nothing is visible; a
    null in the chosen row stays null), then <view>__feature_ts (timezone-aware at UTC
    when `aware_feature_ts`: the form of a timezone-aware spine). Indented here, for the
    bodies' select list, never by an `indent` filter: that would also indent a line
    break inside a quoted name or a literal (a spine's event time column may be named
    anything), and so change it. -#}
{%- macro featurestore_feature_columns(spec, event, aware_feature_ts=false) -%}
{%- set alias = spec['name'] -%}
{%- for feature in spec['features'] %}
            case
                when {{ featurestore.featurestore_is_visible(alias, spec, event) }}
                    then {{ alias }}.{{ feature['name'] }}
                else {{ feature.get('default_sql') or 'null' }}
            end as {{ alias }}__{{ feature['name'] }},
{%- endfor %}
            case
                when {{ featurestore.featurestore_is_visible(alias, spec, event) }}
                    then {{ featurestore.featurestore_utc_aware(alias ~ '._fs_feature_ts') if aware_feature_ts else alias ~ '._fs_feature_ts' }}
            end as {{ alias }}__feature_ts
{%- endmacro -%}
