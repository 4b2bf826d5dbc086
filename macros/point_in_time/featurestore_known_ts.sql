{#- The "known" time of a row: when its value could first have been read,
    i.e. the later of feature_ts and created_ts (a null created_ts counts as feature_ts). -#}
{%- macro featurestore_known_ts(feature_ts, created_ts) -%}
case when {{ created_ts }} > {{ feature_ts }} then {{ created_ts }} else {{ feature_ts }} end
{%- endmacro -%}
