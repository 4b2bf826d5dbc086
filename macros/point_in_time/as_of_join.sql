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
                                      several (unpinned: the contract's base version);
                                      an on-demand view ('txn_context', or one of its
                                      features) is computed over the spine's request
                                      columns and its joined inputs, in the SQL of
                                      `featurestore training-set`, into
                                      `<view>__<feature>` after the stored columns
                                      (featurestore_on_demand_select; the SQL comes
                                      from macros/generated/featurestore_on_demand.sql)
  as_of_join_specs(spine, specs)      specs carry `relation` (and optionally a subset
                                      of `features`, and `utc_columns`); validates,
                                      then dispatches to
  duckdb__ / snowflake__ / spark__ / default__as_of_join_specs   the bodies
                                      (as_of_join_specs.sql), also rendered outside
                                      dbt by featurestore/sql_render.py
-#}

{% macro as_of_join(spine, views, event_ts='event_ts', known_at_event=false, spine_utc=none) %}
    {%- if views is string or views is mapping or views is not iterable or views | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "as_of_join: `views` must be a non-empty list of view names or 'view:feature' "
            ~ "strings, e.g. ['user_transactions', 'user_profile:country'], not " ~ views ~ ".") }}
    {%- endif -%}
    {%- set contracts = featurestore.featurestore_project_contracts('as_of_join') -%}
    {%- set on_demand = featurestore.featurestore_project_on_demand() -%}
    {%- set order, wanted, od_order, od_wanted = [], {}, [], {} -%}
    {%- for item in views -%}
        {%- if item is not string or item | trim == '' -%}
            {{ exceptions.raise_compiler_error(
                "as_of_join: every item of `views` must be a view name or a 'view:feature' "
                ~ "string; got " ~ item ~ ".") }}
        {%- endif -%}
        {%- set parts = item.split(':', 1) -%}
        {%- set view_name = parts[0] | trim -%}
        {%- if view_name not in contracts and view_name.split('@', 1)[0] in on_demand -%}
            {%- do featurestore.featurestore_on_demand_ask(on_demand[view_name.split('@', 1)[0]], view_name, parts, od_order, od_wanted) -%}
        {%- elif view_name not in contracts -%}
            {{ exceptions.raise_compiler_error(
                "as_of_join: unknown feature view `" ~ view_name ~ "`; known views: "
                ~ ((contracts.keys() | list) + (on_demand.keys() | list)) | sort | join(', ') ~ ".") }}
        {%- elif view_name not in wanted -%}
            {%- do order.append(view_name) -%}
            {%- do wanted.update({view_name: []}) -%}
        {%- endif -%}
        {%- if view_name in wanted and parts | length == 1 -%}
            {%- do wanted.update({view_name: none}) -%}
        {%- elif view_name in wanted and wanted[view_name] is not none -%}
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
    {%- set hidden = featurestore.featurestore_on_demand_inputs(on_demand, od_order, od_wanted, contracts, order, wanted) -%}
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
    {%- if not specs -%}  {#- on-demand features over request fields only: the spine itself -#}
        {{ return(featurestore.featurestore_on_demand_select('select * from ' ~ spine, spine, specs, on_demand, od_order, od_wanted, hidden)) }}
    {%- endif -%}
    {%- set join_sql = featurestore.as_of_join_specs(spine, specs, event_ts=event_ts, known_at_event=known_at_event, spine_utc=spine_utc) -%}
    {%- if not od_order -%}
        {{ return(join_sql) }}
    {%- endif -%}
    {{ return(featurestore.featurestore_on_demand_select(join_sql, spine, specs, on_demand, od_order, od_wanted, hidden)) }}
{% endmacro %}
