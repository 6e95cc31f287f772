-- grain: one row per loan or gift (loan_id), from the latest export that holds it
with

loans as (
    select * from staging.stg_equipment__loans
),

files as (
    select file_id, last_name, last_seen_at from intermediate.int_files__named
),

ranked as (
    -- the file whose name sorts last wins; the same name ingested twice: the later content wins
    select
        loans.*,
        row_number() over (
            partition by loans.loan_id
            order by
                coalesce(files.last_name, loans.source_file) desc,
                files.last_seen_at desc nulls last,
                loans.file_id desc,
                loans.line_number
        ) as export_rank
    from loans
    left join files on files.file_id = loans.file_id
    where loans.loan_id is not null
)

select
    loan_id,
    device_serial,
    device_type,
    transfer,
    recipient_type,
    recipient_key,
    uai,
    start_date,
    end_date,
    source_file
from ranked
where export_rank = 1
