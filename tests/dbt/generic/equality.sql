{#- Same rows, same multiplicity (both directions of EXCEPT ALL); returns the rows of
    either side that the other lacks, with `diff` saying which. Used by the macro tests
    against *_expected seeds. dbt-utils' equality with its `compare_model` argument
    (columns compared by position; no compare_columns or precision). -#}
{% test equality(model, compare_model) %}
with
    actual as (select * from {{ model }}),
    expected as (select * from {{ compare_model }}),
    missing as (select 'missing' as diff, * from (select * from expected except all select * from actual) as m),
    unexpected as (select 'unexpected' as diff, * from (select * from actual except all select * from expected) as u)
select * from missing
union all
select * from unexpected
{% endtest %}
