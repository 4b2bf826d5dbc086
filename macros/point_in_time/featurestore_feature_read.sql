{#- A feature as read from the view: `name`, or `<naive UTC of name> as name`. -#}
{%- macro featurestore_feature_read(feature, spec) -%}
{%- set read = featurestore.featurestore_view_column(feature['name'], spec) -%}
{{ read }}{{ ' as ' ~ feature['name'] if read != feature['name'] }}
{%- endmacro -%}
