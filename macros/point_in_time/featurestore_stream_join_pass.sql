{#- Pass `index` (1, 2, ...) of featurestore_stream_join_body: the view's candidate rows
    (a), spine rows and candidates in one stream keyed by the view's keys (b), the last
    candidate carried down to each spine row (c); the pass's rows are `_fs_pass_<index>`,
    with the struct columns of the views `done` before it and one more named after
    this view. -#}
{%- macro featurestore_stream_join_pass(spec, index, done, known_at_event) -%}
{%- set view = spec['name'] -%}
{%- set asof = featurestore.featurestore_asof_column(spec, known_at_event) %}
    -- {{ index + 1 }}a. `{{ view }}`: the rows the join may pick, one per (keys, time)
    --    ({{ 'eligible once known: created_ts <= t' if known_at_event and spec.get('created_timestamp') else 'a later created_ts wins a tie on feature_ts' }}).
{{ featurestore.featurestore_candidate_ctes(view ~ '__rows', spec['relation'], spec, known_at_event, false) }},

    -- {{ index + 1 }}b. `{{ view }}`: spine rows and candidate rows in one stream, keyed by
    --    the view's keys; a candidate sorts before a spine row at the same instant.
    {{ view }}__stream as (
        select
            {%- for key in spec['keys'] %}
            _fs_spine.{{ key }} as _fs_key_{{ loop.index0 }},
            {%- endfor %}
            _fs_event_ts as _fs_t,
            1 as _fs_is_spine,
            _fs_spine,
            _fs_event_ts,
            {%- for earlier in done %}
            {{ earlier['name'] }},
            {%- endfor %}
            null as _fs_pick
        from _fs_pass_{{ index - 1 }}
        union all
        select
            {%- for key in spec['keys'] %}
            {{ key }},
            {%- endfor %}
            {{ asof }},
            0,
            null,
            null,
            {%- for earlier in done %}
            null,
            {%- endfor %}
            named_struct(
                '_fs_feature_ts', _fs_feature_ts
                {%- for feature in spec['features'] %},
                '{{ feature['name'] }}', {{ feature['name'] }}
                {%- endfor %}
            )
        from {{ view }}__rows
        where {% for key in spec['keys'] %}{{ key }} is not null and {% endfor %}{{ asof }} is not null
    ),

    -- {{ index + 1 }}c. `{{ view }}`: each spine row takes the last candidate at or before it.
    {{ view }}__carried as (
        select
            _fs_is_spine,
            _fs_spine,
            _fs_event_ts,
            {%- for earlier in done %}
            {{ earlier['name'] }},
            {%- endfor %}
            last(_fs_pick, true) over (
                partition by {% for key in spec['keys'] %}_fs_key_{{ loop.index0 }}{{ ', ' if not loop.last }}{% endfor %}
                order by _fs_t, _fs_is_spine
                rows between unbounded preceding and current row
            ) as {{ view }}
        from {{ view }}__stream
    ),

    _fs_pass_{{ index }} as (
        select
            _fs_spine,
            _fs_event_ts,
            {%- for earlier in done %}
            {{ earlier['name'] }},
            {%- endfor %}
            case when _fs_event_ts is not null then {{ view }} end as {{ view }}
        from {{ view }}__carried
        where _fs_is_spine = 1
    ),
{%- endmacro -%}
