{#- feature_timeline for a view named in the calling project's contracts, its
    timezone-aware columns asked of the warehouse. -#}
{% macro feature_timeline_of(view_name) %}
    {%- set contracts = featurestore.featurestore_project_contracts('feature_timeline_of') -%}
    {%- if view_name not in contracts -%}
        {{ exceptions.raise_compiler_error(
            "feature_timeline_of: unknown feature view `" ~ view_name ~ "`; known views: "
            ~ (contracts.keys() | sort | join(', ')) ~ ".") }}
    {%- endif -%}
    {%- set spec = dict(contracts[view_name]) -%}
    {%- set relation = ref(spec['source']) -%}
    {%- set read = [spec['timestamp']] + ([spec['created_timestamp']] if spec.get('created_timestamp') else []) -%}
    {%- do spec.update({'utc_columns': featurestore.featurestore_tz_columns(relation, read)}) -%}
    {{ return(featurestore.feature_timeline(relation, spec)) }}
{% endmacro %}
