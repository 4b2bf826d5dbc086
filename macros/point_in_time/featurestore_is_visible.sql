{#- The chosen row (alias) is usable at the event time `event` (an expression of naive
    UTC, e.g. spine.event_ts): it exists and is within TTL (inclusive: t - feature_ts <= ttl). -#}
{%- macro featurestore_is_visible(alias, spec, event) -%}
{%- if spec.get('ttl_seconds') is not none -%}
{{ alias }}._fs_feature_ts is not null
                    and {{ event }} <= {{ featurestore.featurestore_add_seconds(alias ~ '._fs_feature_ts', spec['ttl_seconds']) }}
{%- else -%}
{{ alias }}._fs_feature_ts is not null
{%- endif -%}
{%- endmacro -%}
