{#-
  Small plain-Jinja helpers shared by the point-in-time bodies (as_of_join.sql,
  feature_timeline.sql). Plain Jinja on purpose: no `return`, `adapter`, `ref` or
  `exceptions`, so featurestore/sql_render.py can render the bodies outside dbt.
-#}

{#- `name` as a quoted identifier of `dialect`, so that any column name (a spine's event
    time may be `event-ts`) reaches SQL as that name: backticks on Spark, double quotes
    elsewhere, a quote in it doubled; on Snowflake in upper case, as Snowflake stores an
    unquoted name (dbt-snowflake's models, the connector's uploads). -#}
{%- macro featurestore_ident(name, dialect) -%}
{%- if dialect == 'spark' -%}
{{ featurestore.featurestore_spark_ident(name) }}
{%- elif dialect == 'snowflake' -%}
"{{ name | string | upper | replace('"', '""') }}"
{%- else -%}
"{{ name | string | replace('"', '""') }}"
{%- endif -%}
{%- endmacro -%}

{#- "k1, k2" -#}
{%- macro featurestore_key_list(keys, alias='') -%}
{%- for key in keys -%}{{ alias ~ '.' if alias }}{{ key }}{{ ', ' if not loop.last }}{%- endfor -%}
{%- endmacro -%}

{#- "a.k1 = b.k1 and a.k2 = b.k2": keys join column by column, never concatenated. -#}
{%- macro featurestore_keys_equal(keys, left, right) -%}
{%- for key in keys -%}{{ left }}.{{ key }} = {{ right }}.{{ key }}{{ ' and ' if not loop.last }}{%- endfor -%}
{%- endmacro -%}

{#- `ts` plus `seconds` seconds, for TTL bounds (inclusive).
    DuckDB: https://duckdb.org/docs/stable/sql/data_types/interval
    Snowflake: https://docs.snowflake.com/en/sql-reference/functions/dateadd -#}
{%- macro featurestore_add_seconds(ts, seconds, dialect) -%}
{%- if dialect == 'snowflake' -%}
dateadd('second', {{ seconds }}, {{ ts }})
{%- else -%}
({{ ts }} + interval '{{ seconds }} seconds')
{%- endif -%}
{%- endmacro -%}

{#-
  Time zones. Naive timestamps are UTC (the store's convention). A view column whose
  warehouse type is timezone-aware (DuckDB TIMESTAMPTZ, Snowflake TIMESTAMP_TZ and
  TIMESTAMP_LTZ) is listed in the spec's `utc_columns` and read as naive UTC, so that no
  comparison ever depends on the session's TimeZone (dbt sessions run in the machine's
  or the account's zone, not UTC).
-#}

{#- A timezone-aware timestamp as naive UTC (its instant, the zone dropped).
    DuckDB: https://duckdb.org/docs/stable/sql/functions/timestamptz#timezonetext-timestamptz
    Snowflake: https://docs.snowflake.com/en/sql-reference/functions/convert_timezone
    Portable: the SQL standard's AT TIME ZONE. -#}
{%- macro featurestore_utc_naive(expr, dialect) -%}
{%- if dialect == 'spark' -%}
{{ featurestore.featurestore_spark_utc_naive(expr) }}
{%- elif dialect == 'snowflake' -%}
cast(convert_timezone('UTC', {{ expr }}) as timestamp_ntz)
{%- elif dialect == 'duckdb' -%}
timezone('UTC', {{ expr }})
{%- else -%}
({{ expr }} at time zone 'UTC')
{%- endif -%}
{%- endmacro -%}

{#- A naive UTC timestamp as a timezone-aware one at UTC; the zone is named, so the
    session's TimeZone cannot shift the instant.
    DuckDB: https://duckdb.org/docs/stable/sql/functions/timestamptz#timezonetext-timestamp
    Snowflake: https://docs.snowflake.com/en/sql-reference/functions/timestamp_from_parts -#}
{%- macro featurestore_utc_aware(expr, dialect) -%}
{%- if dialect == 'spark' -%}
{{ featurestore.featurestore_spark_utc_aware(expr) }}
{%- elif dialect == 'snowflake' -%}
timestamp_tz_from_parts(year({{ expr }}), month({{ expr }}), day({{ expr }}), hour({{ expr }}), minute({{ expr }}), second({{ expr }}), date_part(nanosecond, {{ expr }}), 'UTC')
{%- elif dialect == 'duckdb' -%}
timezone('UTC', {{ expr }})
{%- else -%}
({{ expr }} at time zone 'UTC')
{%- endif -%}
{%- endmacro -%}

{#- A column of the view (optionally `alias.column`), as naive UTC when the spec lists it
    in `utc_columns` (case-insensitively), else as it is. -#}
{%- macro featurestore_view_column(column, spec, dialect, alias='') -%}
{%- set name = (alias ~ '.' if alias else '') ~ column -%}
{%- if column | lower in (spec.get('utc_columns') or []) | map('lower') | list -%}
{{ featurestore.featurestore_utc_naive(name, dialect) }}
{%- else -%}
{{ name }}
{%- endif -%}
{%- endmacro -%}

{#- The "known" time of a row: when its value could first have been read,
    i.e. the later of feature_ts and created_ts (a null created_ts counts as feature_ts). -#}
{%- macro featurestore_known_ts(feature_ts, created_ts) -%}
case when {{ created_ts }} > {{ feature_ts }} then {{ created_ts }} else {{ feature_ts }} end
{%- endmacro -%}

{#- A feature as read from the view: `name`, or `<naive UTC of name> as name`. -#}
{%- macro featurestore_feature_read(feature, spec, dialect) -%}
{%- set read = featurestore.featurestore_view_column(feature['name'], spec, dialect) -%}
{{ read }}{{ ' as ' ~ feature['name'] if read != feature['name'] }}
{%- endmacro -%}

{#-
  The CTEs holding the rows an as-of join may pick for one view, ending with a CTE
  named `name` with columns: the keys, `_fs_feature_ts`, the selected features and, in
  known-at-event mode, `_fs_asof_ts` (the time the row becomes the answer; otherwise
  that time is `_fs_feature_ts` itself, and no copy of it is carried: on 20M rows the
  copy costs 160 MB of join memory). `featurestore_asof_column` names the one to join on.
  Per view:
    a. Corrections: when the view has a created_timestamp and two rows share
       (keys, feature_ts), only the later created_timestamp survives; a null one is
       unknown, and loses to any known one (in both modes, on every warehouse: the
       null ordering is spelled out, as DuckDB and Snowflake differ on DESC). With
       `dedupe_always` (the portable body) ties are broken even without one, so that
       a range join can never fan out.
    b. Normal mode: the row becomes the answer at its feature_ts.
    c. Known-at-event mode (views with a created_timestamp): a row is eligible at t
       only when feature_ts <= t and created_ts <= t, i.e. known_ts <= t with
       known_ts = greatest(feature_ts, created_ts). Ordered by (known_ts, feature_ts,
       created_ts) per entity, keep only the rows that become the best answer when
       they arrive (feature_ts >= the max feature_ts of every row known before them)
       and, among rows known at the same instant, only the last. Kept rows then have
       strictly increasing known_ts and (feature_ts, created_ts), so "the last kept
       row with known_ts <= t" is exactly "the max (feature_ts, created_ts) among rows
       known at t": one as-of inequality on `_fs_asof_ts` = known_ts does it.
-#}
{%- macro featurestore_candidate_ctes(name, relation, spec, known_at_event, dedupe_always, dialect) -%}
{%- set keys = featurestore.featurestore_key_list(spec['keys']) -%}
{%- set ts = featurestore.featurestore_view_column(spec['timestamp'], spec, dialect) -%}
{%- set created = spec.get('created_timestamp') -%}
{%- if created -%}
{%- set created = featurestore.featurestore_view_column(created, spec, dialect) -%}
{%- endif -%}
{%- if known_at_event and created %}
    {{ name }}__known as (
        select
            {{ keys }},
            {{ ts }} as _fs_feature_ts,
            {{ created }} as _fs_created_ts,
            {%- for feature in spec['features'] %}
            {{ featurestore.featurestore_feature_read(feature, spec, dialect) }},
            {%- endfor %}
            {{ featurestore.featurestore_known_ts(ts, created) }} as _fs_known_ts
        from {{ relation }}
    ),

    {{ name }}__ranked as (
        select
            {{ name }}__known.*,
            max(_fs_feature_ts) over (
                partition by {{ keys }}
                order by _fs_known_ts, _fs_feature_ts, _fs_created_ts nulls first
                rows between unbounded preceding and 1 preceding
            ) as _fs_best_before,
            lead(_fs_known_ts) over (
                partition by {{ keys }}
                order by _fs_known_ts, _fs_feature_ts, _fs_created_ts nulls first
            ) as _fs_next_known_ts
        from {{ name }}__known
    ),

    {{ name }} as (
        select
            {{ keys }},
            _fs_feature_ts,
            {%- for feature in spec['features'] %}
            {{ feature['name'] }},
            {%- endfor %}
            _fs_known_ts as _fs_asof_ts
        from {{ name }}__ranked
        where (_fs_best_before is null or _fs_feature_ts >= _fs_best_before)
          and (_fs_next_known_ts is null or _fs_next_known_ts > _fs_known_ts)
    )
{%- elif created or dedupe_always %}
    {{ name }}__ranked as (
        select
            {{ keys }},
            {{ ts }} as _fs_feature_ts,
            {%- for feature in spec['features'] %}
            {{ featurestore.featurestore_feature_read(feature, spec, dialect) }},
            {%- endfor %}
            row_number() over (
                partition by {{ keys }}, {{ ts }}
                order by {{ created ~ ' desc nulls last' if created else ts }}
            ) as _fs_version_rank
        from {{ relation }}
    ),

    {{ name }} as (
        select
            {{ keys }},
            _fs_feature_ts,
            {%- for feature in spec['features'] %}
            {{ feature['name'] }}{{ ',' if not loop.last }}
            {%- endfor %}
        from {{ name }}__ranked
        where _fs_version_rank = 1
    )
{%- else %}
    {{ name }} as (
        select
            {{ keys }},
            {{ ts }} as _fs_feature_ts,
            {%- for feature in spec['features'] %}
            {{ featurestore.featurestore_feature_read(feature, spec, dialect) }}{{ ',' if not loop.last }}
            {%- endfor %}
        from {{ relation }}
    )
{%- endif -%}
{%- endmacro -%}

{#- The column of the candidate rows an as-of join compares with the event time. -#}
{%- macro featurestore_asof_column(spec, known_at_event) -%}
{{ '_fs_asof_ts' if known_at_event and spec.get('created_timestamp') else '_fs_feature_ts' }}
{%- endmacro -%}

{#- The chosen row (alias) is usable at the event time `event` (an expression of naive
    UTC, e.g. spine.event_ts): it exists and is within TTL (inclusive: t - feature_ts <= ttl). -#}
{%- macro featurestore_is_visible(alias, spec, event, dialect) -%}
{%- if spec.get('ttl_seconds') is not none -%}
{{ alias }}._fs_feature_ts is not null
                    and {{ event }} <= {{ featurestore.featurestore_add_seconds(alias ~ '._fs_feature_ts', spec['ttl_seconds'], dialect) }}
{%- else -%}
{{ alias }}._fs_feature_ts is not null
{%- endif -%}
{%- endmacro -%}

{#- The output columns of one view: each feature (default when nothing is visible; a
    null in the chosen row stays null), then <view>__feature_ts (timezone-aware at UTC
    when `aware_feature_ts`: the form of a timezone-aware spine). Indented here, for the
    bodies' select list, never by an `indent` filter: that would also indent a line
    break inside a quoted name or a literal (a spine's event time column may be named
    anything), and so change it. -#}
{%- macro featurestore_feature_columns(spec, event, dialect, aware_feature_ts=false) -%}
{%- set alias = spec['name'] -%}
{%- for feature in spec['features'] %}
            case
                when {{ featurestore.featurestore_is_visible(alias, spec, event, dialect) }}
                    then {{ alias }}.{{ feature['name'] }}
                else {{ feature.get('default_sql') or 'null' }}
            end as {{ alias }}__{{ feature['name'] }},
{%- endfor %}
            case
                when {{ featurestore.featurestore_is_visible(alias, spec, event, dialect) }}
                    then {{ featurestore.featurestore_utc_aware(alias ~ '._fs_feature_ts', dialect) if aware_feature_ts else alias ~ '._fs_feature_ts' }}
            end as {{ alias }}__feature_ts
{%- endmacro -%}
