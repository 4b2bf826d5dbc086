{#- The ASOF body (DuckDB, Snowflake): per view its candidate rows, then one as-of join
    each (featurestore_asof_join: the warehouse's spelling). With `spine_utc` (a
    timezone-aware spine event time) the spine gets `_fs_event_ts`, its naive UTC, for
    the join to compare (ASOF match conditions take columns, not expressions); the
    output leaves it out, so the spine's own column is unchanged. -#}
{% macro featurestore_asof_body(spine, specs, event_ts, known_at_event, spine_utc=false) %}
{%- set spine_ts = featurestore.featurestore_ident(event_ts) -%}
{%- set event = 'spine._fs_event_ts' if spine_utc else 'spine.' ~ spine_ts -%}
with

    -- 1. The spine: every row is kept, duplicates and null keys included{{ '; its event
    --    time as naive UTC in _fs_event_ts' if spine_utc }}.
    spine as (
        select *{{ ', ' ~ featurestore.featurestore_utc_naive(spine_ts) ~ ' as _fs_event_ts' if spine_utc }} from {{ spine }}
    ),
{% for spec in specs %}
    -- {{ loop.index + 1 }}. `{{ spec['name'] }}`: the rows the join may pick, one per (keys, time)
    --    ({{ 'eligible once known: created_ts <= t' if known_at_event and spec.get('created_timestamp') else 'a later created_ts wins a tie on feature_ts' }}).
{{ featurestore.featurestore_candidate_ctes(spec['name'] ~ '__rows', spec['relation'], spec, known_at_event, false) }},
{% endfor %}
    -- {{ specs | length + 2 }}. One as-of join per view: the last row at or before the event,
    --    key by key; expired (TTL) or absent rows give the contract's defaults.
    final as (
        {{ featurestore.featurestore_output_select('spine', specs, event, spine_utc) }}
        from spine
{%- for spec in specs %}
        {{ featurestore.featurestore_asof_join(spec, event, known_at_event) }}
{%- endfor %}
    )

select * {{- ' exclude (_fs_event_ts)' if spine_utc }} from final
{% endmacro %}
