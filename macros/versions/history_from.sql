{#-
  The start of a feature version's history, for `featurestore backfill VIEW --version N
  --from DATE` (docs/versions.md). The backfill passes DATE as the dbt variable
  `featurestore_history_from`; a version's model that wants its history to start there
  calls this twice:

    transactions as (   -- the events the windows need: from DATE minus the longest window
        select * from {{ ref('stg_demo__transactions') }}
        where {{ featurestore.history_from('transacted_at', lookback='30 days') }}
    ),
    ...
    select * from final where {{ featurestore.history_from('feature_ts') }}   -- the rows

  Without the variable (every other build, incremental runs included) it is `true`: the
  whole history. The date is parsed, never pasted: a value that is not an ISO-8601 time
  stops compilation. `lookback` is written by the model's author ('30 days', '1 hour').
-#}
{% macro history_from(column, lookback=none) %}
    {%- set start = var('featurestore_history_from', none) -%}
    {%- if start is none or start | string | trim == '' -%}
        true
    {%- else -%}
        {%- set parsed = featurestore.featurestore_parse_history_start(start | string) -%}
        {%- if lookback is not none and not modules.re.fullmatch('[0-9]+ (second|minute|hour|day)s?', lookback | string) -%}
            {{ exceptions.raise_compiler_error(
                "history_from: `lookback` must be a count and a unit, like '30 days' or '1 hour'; got "
                ~ lookback ~ ".") }}
        {%- endif -%}
        {{ column }} >= cast('{{ parsed }}' as timestamp){% if lookback is not none %} - interval '{{ lookback }}'{% endif %}
    {%- endif -%}
{% endmacro %}
