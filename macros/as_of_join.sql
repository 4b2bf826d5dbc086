{#-
  Point-in-time (as-of) join: the training row for (entity, t) gets, per feature view,
  the last value with feature_ts <= t (a value written at t is visible at t), provided
  t - feature_ts <= ttl (inclusive); otherwise each feature gets the contract's default
  (default_sql, null when none). A null in the chosen row stays null: no fallback to an
  older value. Every spine row comes out exactly once (duplicates stay; a null key, a
  null event time or an unknown entity gets the defaults). Multi-column keys join
  column by column. Ties on (keys, feature_ts): the later created_timestamp wins.

  known_at_event=true (views with a created_timestamp): only rows with
  created_ts <= t are eligible, so late corrections and backfills never leak into
  training (see feast-dev/feast#6615); the TTL is still measured from feature_ts.

  Output columns: the spine's columns in order, then per view (in the given order)
  `<view>__<feature>` for each selected feature in contract order, then
  `<view>__feature_ts` (the feature_ts of the row used; null when none or expired).

  Time zones: naive timestamps are UTC. A timezone-aware view column (DuckDB
  TIMESTAMPTZ, Snowflake TIMESTAMP_TZ or TIMESTAMP_LTZ; listed in a spec's
  `utc_columns`) is read as naive UTC, so no comparison depends on the session's zone;
  a timestamp feature from such a column comes out as naive UTC. A timezone-aware spine
  event time (`spine_utc`) is compared by its instant; the training set keeps the
  spine's form: its event time column unchanged, `<view>__feature_ts` aware at UTC.
  In dbt both are found by asking the warehouse (when `spine` and the views are built
  relations); pass `spine_utc=true` for a spine given as a CTE name.

  as_of_join(spine, views)            analysts: view names, or 'view:feature' strings;
                                      'view@v2:feature' pins a version of a view with
                                      several (unpinned: the contract's base version)
  as_of_join_specs(spine, specs)      specs carry `relation` (and optionally a subset
                                      of `features`, and `utc_columns`); validates,
                                      then dispatches to
  duckdb__ / snowflake__ / default__as_of_join_specs   plain-Jinja bodies, also rendered
                                      outside dbt by featurestore/sql_render.py
-#}

{% macro as_of_join(spine, views, event_ts='event_ts', known_at_event=false, spine_utc=none) %}
    {%- if views is string or views is mapping or views is not iterable or views | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "as_of_join: `views` must be a non-empty list of view names or 'view:feature' "
            ~ "strings, e.g. ['user_transactions', 'user_profile:country'], not " ~ views ~ ".") }}
    {%- endif -%}
    {%- set contracts = featurestore.featurestore_project_contracts('as_of_join') -%}
    {%- set order = [] -%}
    {%- set wanted = {} -%}
    {%- for item in views -%}
        {%- if item is not string or item | trim == '' -%}
            {{ exceptions.raise_compiler_error(
                "as_of_join: every item of `views` must be a view name or a 'view:feature' "
                ~ "string; got " ~ item ~ ".") }}
        {%- endif -%}
        {%- set parts = item.split(':', 1) -%}
        {%- set view_name = parts[0] | trim -%}
        {%- if view_name not in contracts -%}
            {{ exceptions.raise_compiler_error(
                "as_of_join: unknown feature view `" ~ view_name ~ "`; known views: "
                ~ (contracts.keys() | sort | join(', ')) ~ ".") }}
        {%- endif -%}
        {%- if view_name not in wanted -%}
            {%- do order.append(view_name) -%}
            {%- do wanted.update({view_name: []}) -%}
        {%- endif -%}
        {%- if parts | length == 1 -%}
            {%- do wanted.update({view_name: none}) -%}
        {%- elif wanted[view_name] is not none -%}
            {%- set feature_name = parts[1] | trim -%}
            {%- set known = contracts[view_name]['features'] | map(attribute='name') | list -%}
            {%- if feature_name not in known -%}
                {{ exceptions.raise_compiler_error(
                    "as_of_join: feature view `" ~ view_name ~ "` has no feature `"
                    ~ feature_name ~ "`; its features: " ~ (known | join(', ')) ~ ".") }}
            {%- endif -%}
            {%- do wanted[view_name].append(feature_name) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set specs = [] -%}
    {%- for view_name in order -%}
        {%- set contract = contracts[view_name] -%}
        {%- set spec = dict(contract) -%}
        {%- if wanted[view_name] is not none -%}
            {%- set selected = [] -%}
            {%- for feature in contract['features'] -%}
                {%- if feature['name'] in wanted[view_name] -%}
                    {%- do selected.append(feature) -%}
                {%- endif -%}
            {%- endfor -%}
            {%- do spec.update({'features': selected}) -%}
        {%- endif -%}
        {#- a view with several versions: its dbt model version ('view@v2' names one) -#}
        {%- set relation = ref(contract['source'], v=contract['model_version']) if contract.get('model_version') is not none else ref(contract['source']) -%}
        {%- set read = [contract['timestamp']] + ([contract['created_timestamp']] if contract.get('created_timestamp') else [])
                       + (spec['features'] | map(attribute='name') | list) -%}
        {%- do spec.update({'relation': relation,
                            'utc_columns': featurestore.featurestore_tz_columns(relation, read)}) -%}
        {%- do specs.append(spec) -%}
    {%- endfor -%}
    {{ return(featurestore.as_of_join_specs(spine, specs, event_ts=event_ts, known_at_event=known_at_event, spine_utc=spine_utc)) }}
{% endmacro %}


{% macro as_of_join_specs(spine, specs, event_ts='event_ts', known_at_event=false, spine_utc=none) %}
    {%- if spine is none or spine | string | trim == '' -%}
        {{ exceptions.raise_compiler_error(
            "as_of_join_specs: `spine` must be a relation, e.g. ref('training_spine'); got nothing.") }}
    {%- endif -%}
    {%- if event_ts is not string or event_ts | trim == '' -%}
        {{ exceptions.raise_compiler_error(
            "as_of_join_specs: `event_ts` must be the name of the spine's event time column, "
            ~ "e.g. 'event_ts'; got " ~ event_ts ~ ".") }}
    {%- endif -%}
    {%- if known_at_event is not sameas true and known_at_event is not sameas false -%}
        {{ exceptions.raise_compiler_error(
            "as_of_join_specs: `known_at_event` must be true or false; got " ~ known_at_event ~ ".") }}
    {%- endif -%}
    {%- if specs is string or specs is mapping or specs is not iterable or specs | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "as_of_join_specs: `specs` must be a non-empty list of view specs; got " ~ specs ~ ".") }}
    {%- endif -%}
    {%- set seen = [] -%}
    {%- for spec in specs -%}
        {%- if spec is not mapping -%}
            {{ exceptions.raise_compiler_error(
                "as_of_join_specs: spec #" ~ loop.index ~ " must be a mapping like "
                ~ "featurestore_contracts() returns; got " ~ spec ~ ".") }}
        {%- endif -%}
        {%- set label = "spec #" ~ loop.index ~ " (`" ~ spec.get('name') ~ "`)" -%}
        {%- for field in ['name', 'keys', 'timestamp', 'relation', 'features'] -%}
            {%- if spec.get(field) is none or spec.get(field) | string | trim == '' -%}
                {{ exceptions.raise_compiler_error(
                    "as_of_join_specs: " ~ label ~ " has no `" ~ field ~ "`; "
                    ~ "build specs with featurestore_contracts() and add `relation`.") }}
            {%- endif -%}
        {%- endfor -%}
        {%- if spec['keys'] is string or spec['keys'] | length == 0 -%}
            {{ exceptions.raise_compiler_error(
                "as_of_join_specs: " ~ label ~ " must list its join key columns in `keys`, "
                ~ "e.g. ['user_id']; got " ~ spec['keys'] ~ ".") }}
        {%- endif -%}
        {%- if spec['features'] is string or spec['features'] | length == 0 -%}
            {{ exceptions.raise_compiler_error(
                "as_of_join_specs: " ~ label ~ " selects no features; list at least one in `features`.") }}
        {%- endif -%}
        {%- for feature in spec['features'] -%}
            {%- if feature is not mapping or not feature.get('name') -%}
                {{ exceptions.raise_compiler_error(
                    "as_of_join_specs: " ~ label ~ ": every feature must be a mapping with "
                    ~ "`name` and `default_sql`; got " ~ feature ~ ".") }}
            {%- endif -%}
        {%- endfor -%}
        {%- set utc_columns = spec.get('utc_columns') -%}
        {%- if utc_columns is not none and (utc_columns is string or utc_columns is mapping or utc_columns is not iterable) -%}
            {{ exceptions.raise_compiler_error(
                "as_of_join_specs: " ~ label ~ ": `utc_columns` must be a list of the view's "
                ~ "timezone-aware column names, e.g. ['feature_ts']; got " ~ utc_columns ~ ".") }}
        {%- endif -%}
        {%- set ttl = spec.get('ttl_seconds') -%}
        {%- if ttl is not none and (ttl is not number or ttl is sameas true or ttl is sameas false or ttl <= 0) -%}
            {{ exceptions.raise_compiler_error(
                "as_of_join_specs: " ~ label ~ ": `ttl_seconds` must be a positive number of "
                ~ "seconds or none; got " ~ ttl ~ ".") }}
        {%- endif -%}
        {%- if spec['name'] in seen -%}
            {{ exceptions.raise_compiler_error(
                "as_of_join_specs: view `" ~ spec['name'] ~ "` is listed twice; list each view "
                ~ "once (its output columns would collide).") }}
        {%- endif -%}
        {%- do seen.append(spec['name']) -%}
    {%- endfor -%}
    {%- if spine_utc is none -%}
        {%- set spine_utc = featurestore.featurestore_tz_columns(spine, [event_ts]) | length > 0 -%}
    {%- elif spine_utc is not sameas true and spine_utc is not sameas false -%}
        {{ exceptions.raise_compiler_error(
            "as_of_join_specs: `spine_utc` must be true (the spine's event time is "
            ~ "timezone-aware), false, or none to ask the warehouse; got " ~ spine_utc ~ ".") }}
    {%- endif -%}
    {%- if spine_utc -%}
        {{ return(adapter.dispatch('as_of_join_specs', 'featurestore')(
            spine, specs, event_ts=event_ts, known_at_event=known_at_event, spine_utc=true)) }}
    {%- endif -%}
    {{ return(adapter.dispatch('as_of_join_specs', 'featurestore')(
        spine, specs, event_ts=event_ts, known_at_event=known_at_event)) }}
{% endmacro %}


{#- The ASOF bodies of DuckDB and Snowflake differ only in the join clause. With
    `spine_utc` (a timezone-aware spine event time) the spine gets `_fs_event_ts`, its
    naive UTC, for the join to compare (ASOF match conditions take columns, not
    expressions); the output leaves it out, so the spine's own column is unchanged. -#}
{% macro featurestore_asof_body(spine, specs, event_ts, known_at_event, dialect, spine_utc=false) %}
{%- set spine_ts = featurestore.featurestore_ident(event_ts, dialect) -%}
{%- set event = 'spine._fs_event_ts' if spine_utc else 'spine.' ~ spine_ts -%}
with

    -- 1. The spine: every row is kept, duplicates and null keys included{{ '; its event
    --    time as naive UTC in _fs_event_ts' if spine_utc }}.
    spine as (
        select *{{ ', ' ~ featurestore.featurestore_utc_naive(spine_ts, dialect) ~ ' as _fs_event_ts' if spine_utc }} from {{ spine }}
    ),
{% for spec in specs %}
    -- {{ loop.index + 1 }}. `{{ spec['name'] }}`: the rows the join may pick, one per (keys, time)
    --    ({{ 'eligible once known: created_ts <= t' if known_at_event and spec.get('created_timestamp') else 'a later created_ts wins a tie on feature_ts' }}).
{{ featurestore.featurestore_candidate_ctes(spec['name'] ~ '__rows', spec['relation'], spec, known_at_event, false, dialect) }},
{% endfor %}
    -- {{ specs | length + 2 }}. One {{ 'ASOF JOIN' if dialect == 'snowflake' else 'ASOF LEFT JOIN' }} per view: the last row at or before the event,
    --    key by key; expired (TTL) or absent rows give the contract's defaults.
    final as (
        select
            spine.*,
{%- for spec in specs %}
            {{- featurestore.featurestore_feature_columns(spec, event, dialect, spine_utc) }}{{ ',' if not loop.last }}
{%- endfor %}
        from spine
{%- for spec in specs %}
{%- if dialect == 'snowflake' %}
        asof join {{ spec['name'] }}__rows as {{ spec['name'] }}
            match_condition ({{ event }} >= {{ spec['name'] }}.{{ featurestore.featurestore_asof_column(spec, known_at_event) }})
            on {{ featurestore.featurestore_keys_equal(spec['keys'], 'spine', spec['name']) }}
{%- else %}
        asof left join {{ spec['name'] }}__rows as {{ spec['name'] }}
            on {{ featurestore.featurestore_keys_equal(spec['keys'], 'spine', spec['name']) }}
            and {{ event }} >= {{ spec['name'] }}.{{ featurestore.featurestore_asof_column(spec, known_at_event) }}
{%- endif %}
{%- endfor %}
    )

select * {{- ' exclude (_fs_event_ts)' if spine_utc }} from final
{% endmacro %}


{#- DuckDB ASOF LEFT JOIN: https://duckdb.org/docs/stable/sql/query_syntax/from#as-of-joins -#}
{% macro duckdb__as_of_join_specs(spine, specs, event_ts='event_ts', known_at_event=false, spine_utc=false) %}
{{- featurestore.featurestore_asof_body(spine, specs, event_ts, known_at_event, 'duckdb', spine_utc) -}}
{% endmacro %}


{#- Snowflake ASOF JOIN ... MATCH_CONDITION (null-pads unmatched left rows):
    https://docs.snowflake.com/en/sql-reference/constructs/asof-join -#}
{% macro snowflake__as_of_join_specs(spine, specs, event_ts='event_ts', known_at_event=false, spine_utc=false) %}
{{- featurestore.featurestore_asof_body(spine, specs, event_ts, known_at_event, 'snowflake', spine_utc) -}}
{% endmacro %}


{#- Portable: window functions (LEAD) and a range LEFT JOIN on validity intervals:
    https://en.wikipedia.org/wiki/Window_function_(SQL). A timezone-aware spine event
    time is compared through AT TIME ZONE in the join itself: no extra column. -#}
{% macro default__as_of_join_specs(spine, specs, event_ts='event_ts', known_at_event=false, spine_utc=false) %}
{%- set spine_ts = 'spine.' ~ featurestore.featurestore_ident(event_ts, 'default') -%}
{%- set event = featurestore.featurestore_utc_naive(spine_ts, 'default') if spine_utc else spine_ts -%}
with

    -- 1. The spine: every row is kept, duplicates and null keys included.
    spine as (
        select * from {{ spine }}
    ),
{% for spec in specs %}
    -- {{ loop.index + 1 }}a. `{{ spec['name'] }}`: the rows the join may pick, one per (keys, time)
    --    ({{ 'eligible once known: created_ts <= t' if known_at_event and spec.get('created_timestamp') else 'a later created_ts wins a tie on feature_ts' }}).
{{ featurestore.featurestore_candidate_ctes(spec['name'] ~ '__rows', spec['relation'], spec, known_at_event, true, 'default') }},

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
        select
            spine.*,
{%- for spec in specs %}
            {{- featurestore.featurestore_feature_columns(spec, event, 'default', spine_utc) }}{{ ',' if not loop.last }}
{%- endfor %}
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
