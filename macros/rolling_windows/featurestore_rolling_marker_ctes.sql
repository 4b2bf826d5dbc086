{#- Step d of the DuckDB body: markers at each instant and at each instant + window, as
    packed counters (_rw_markers), summed per change point (_rw_changes). -#}
{%- macro featurestore_rolling_marker_ctes(spec, instants) -%}
{%- set keys = featurestore.featurestore_key_list(spec['keys']) -%}
{%- set n_counters = spec['windows'] | length + 1 -%}
{%- set n_packs = (n_counters + 3) // 4 %}

    -- d. Markers at each instant and at each instant + window, as packed counters.
    _rw_markers as (
        select
            {{ keys }},
            _rw_ts_us,
            {%- for p in range(n_packs) %}
            cast({{ 1 if p == 0 else 0 }} as hugeint) as _rw_pack_{{ p }},
            {%- endfor %}
            true as _rw_is_point
            {%- for pair in spec['minmax'] %},
            _rw_{{ pair[1] }}_{{ pair[0] }}
            {%- endfor %}
        from {{ instants }}
        {%- for us in spec['windows'] %}
        {%- set counter = loop.index %}

        union all

        select
            {{ keys }},
            least(_rw_ts_us + {{ us }}, _rw_horizon._rw_horizon_us + 1),
            {%- for p in range(n_packs) %}
            cast({{ '1' if p == counter // 4 else '0' }} as hugeint){{ ' << ' ~ 31 * (counter % 4) if p == counter // 4 and counter % 4 }},
            {%- endfor %}
            _rw_ts_us + {{ us }} <= _rw_horizon._rw_horizon_us
                and ({% for i in spec['window_inputs'][loop.index0] %}{{ ' or ' if not loop.first }}_rw_n_{{ i }} > 0{% endfor %})
            {%- for pair in spec['minmax'] %},
            null
            {%- endfor %}
        from {{ instants }}
        cross join _rw_horizon
        {%- endfor %}
    ),

    _rw_changes as (
        select
            {{ keys }},
            _rw_ts_us,
            {%- for p in range(n_packs) %}
            sum(_rw_pack_{{ p }}) as _rw_pack_{{ p }},
            {%- endfor %}
            bool_or(_rw_is_point) as _rw_is_point
            {%- for pair in spec['minmax'] %},
            {{ pair[1] }}(_rw_{{ pair[1] }}_{{ pair[0] }}) as _rw_{{ pair[1] }}_{{ pair[0] }}
            {%- endfor %}
        from _rw_markers
        group by {{ keys }}, _rw_ts_us
    ),
{%- endmacro -%}
