{#- Incremental run, steps 2 and 3 of featurestore_rolling_input_ctes: the previous
    result's watermark and data horizon (_rw_previous), the rows landed since within
    the allowed lateness (_rw_new), and the new data horizon (_rw_horizon).
    `whole`: the enclosing query of a run in buckets of entities: _rw_previous, every
    entity's new rows (_rw_all_new, read from _rw_all_source) and the horizon; a
    bucket's body (spec['partition']) then makes only its own _rw_new. -#}
{%- macro featurestore_rolling_new_events_ctes(spec, whole=false) -%}
{%- set keys = featurestore.featurestore_key_list(spec['keys']) %}
{%- set new = '_rw_all_new' if whole else '_rw_new' %}
{%- if whole or spec['partition'] is none %}

    -- 2. The previous result: its watermark and its data horizon.
    _rw_previous as (
        select
            max(loaded_at) as _rw_watermark,
            max({{ featurestore.featurestore_epoch_us(spec['feature_ts']) }}) as _rw_old_horizon_us
        from {{ spec['previous'] }}
    ),
{%- endif %}

    -- 3. The rows landed since{{ ', within the allowed lateness' if spec['lateness_us'] is not none }}.
    {{ new }} as (
        select
            {{ featurestore.featurestore_key_list(spec['keys'], '_rw_source') }},
            _rw_source._rw_ts_us
        from {{ '_rw_all_source as ' if whole }}_rw_source
        cross join _rw_previous
        where (
            _rw_previous._rw_watermark is null
            or _rw_source._rw_loaded_at is null
            or _rw_source._rw_loaded_at > _rw_previous._rw_watermark
        )
        {%- if spec['lateness_us'] is not none %}
        {%- set too_late = '_rw_source._rw_ts_us < _rw_previous._rw_old_horizon_us - ' ~ spec['lateness_us'] %}
        {%- if spec['too_late'] == 'skip' %}
        and not coalesce({{ too_late }}, false)
        {%- else %}
        and case
            when {{ too_late }}
                then {{ featurestore.featurestore_fail(
                    "'rolling_windows: an event at ' || cast(_rw_source._rw_ts_us as varchar) || ' us landed later than the allowed lateness; run with --full-refresh, or raise allowed_lateness'") }}
            else true
        end
        {%- endif %}
        {%- endif %}
    ),
{%- if whole or spec['partition'] is none %}

    _rw_horizon as (
        select max(_rw_ts_us) as _rw_horizon_us
        from (
            select _rw_old_horizon_us as _rw_ts_us from _rw_previous
            union all
            select max(_rw_ts_us) from {{ new }}
        ) as _rw_candidates
    ),
{%- endif %}
{%- endmacro -%}
