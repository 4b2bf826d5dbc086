{#- The portable body (default__as_of_join_specs): per view its candidate rows, one per
    (keys, time), each holding until the next (LEAD), and one range LEFT JOIN on those
    validity intervals. A timezone-aware spine event time is compared through
    featurestore_utc_naive in the join itself: no extra column.
    https://en.wikipedia.org/wiki/Window_function_(SQL) -#}
{% macro featurestore_range_join_body(spine, specs, event_ts, known_at_event, spine_utc=false) %}
{%- set spine_ts = 'spine.' ~ featurestore.featurestore_ident(event_ts) -%}
{%- set event = featurestore.featurestore_utc_naive(spine_ts) if spine_utc else spine_ts -%}
with

    -- 1. The spine: every row is kept, duplicates and null keys included.
    spine as (
        select * from {{ spine }}
    ),
{% for spec in specs %}
    -- {{ loop.index + 1 }}a. `{{ spec['name'] }}`: the rows the join may pick, one per (keys, time)
    --    ({{ 'eligible once known: created_ts <= t' if known_at_event and spec.get('created_timestamp') else 'a later created_ts wins a tie on feature_ts' }}).
{{ featurestore.featurestore_candidate_ctes(spec['name'] ~ '__rows', spec['relation'], spec, known_at_event, true) }},

    -- {{ loop.index + 1 }}b. `{{ spec['name'] }}`: each row holds from its time until the next one
    --    (exclusive), so one spine row matches at most one row: no fan-out.
    {%- set asof = featurestore.featurestore_asof_column(spec, known_at_event) %}
    {{ spec['name'] }}__intervals as (
        select
            {{ spec['name'] }}__rows.*,
            lead({{ asof }}) over (
                partition by {{ featurestore.featurestore_key_list(spec['keys']) }}
                order by {{ asof }}
            ) as _fs_valid_to
        from {{ spec['name'] }}__rows
    ),
{% endfor %}
    -- {{ specs | length + 2 }}. One range LEFT JOIN per view on valid_from <= t < valid_to,
    --    key by key; expired (TTL) or absent rows give the contract's defaults.
    final as (
        {{ featurestore.featurestore_output_select('spine', specs, event, spine_utc) }}
        from spine
{%- for spec in specs %}
        left join {{ spec['name'] }}__intervals as {{ spec['name'] }}
            on {{ featurestore.featurestore_keys_equal(spec['keys'], 'spine', spec['name']) }}
            and {{ event }} >= {{ spec['name'] }}.{{ featurestore.featurestore_asof_column(spec, known_at_event) }}
            and (
                {{ spec['name'] }}._fs_valid_to is null
                or {{ event }} < {{ spec['name'] }}._fs_valid_to
            )
{%- endfor %}
    )

select * from final
{% endmacro %}
