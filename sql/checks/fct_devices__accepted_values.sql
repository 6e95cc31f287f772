select loan_id, device_type, transfer, recipient_type
from marts.fct_devices
where device_type is null or device_type not in ('ultraportable', 'tablette', 'pc_recycle')
    or transfer is null or transfer not in ('pret', 'don')
    or recipient_type is null or recipient_type not in ('eleve', 'enseignant')
