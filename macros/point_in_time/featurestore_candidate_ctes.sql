{#-
  The CTEs holding the rows an as-of join may pick for one view, ending with a CTE
  named `name` with columns: the keys, `_fs_feature_ts`, the selected features and, in
  known-at-event mode, `_fs_asof_ts` (the time the row becomes the answer; otherwise
  that time is `_fs_feature_ts` itself, and no copy of it is carried: on 20M rows the
  copy costs 160 MB of join memory). `featurestore_asof_column` names the one to join
  on. One named part per case: featurestore_known_candidate_ctes (c),
  featurestore_latest_candidate_ctes (a, b), featurestore_plain_candidate_ctes (b, no
  corrections to drop).
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
{%- macro featurestore_candidate_ctes(name, relation, spec, known_at_event, dedupe_always) -%}
{%- if known_at_event and spec.get('created_timestamp') -%}
{{ featurestore.featurestore_known_candidate_ctes(name, relation, spec) }}
{%- elif spec.get('created_timestamp') or dedupe_always -%}
{{ featurestore.featurestore_latest_candidate_ctes(name, relation, spec) }}
{%- else -%}
{{ featurestore.featurestore_plain_candidate_ctes(name, relation, spec) }}
{%- endif -%}
{%- endmacro -%}
