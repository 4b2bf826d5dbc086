{#- Stop compilation with a full sentence when spec #`index` of as_of_join_specs is not
    a view spec it can join (a mapping with name, keys, timestamp, relation and
    features; utc_columns a list; ttl_seconds positive or none). -#}
{% macro featurestore_check_view_spec(spec, index) %}
    {%- if spec is not mapping -%}
        {{ exceptions.raise_compiler_error(
            "as_of_join_specs: spec #" ~ index ~ " must be a mapping like "
            ~ "featurestore_contracts() returns; got " ~ spec ~ ".") }}
    {%- endif -%}
    {%- set label = "spec #" ~ index ~ " (`" ~ spec.get('name') ~ "`)" -%}
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
{% endmacro %}
