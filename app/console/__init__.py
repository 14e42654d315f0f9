"""The staff console (/console/): server-rendered pages over the same services as the API,
and the admin API of accounts and tokens (/api/v1/admin)."""
