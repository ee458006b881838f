"""Factory batches (issue 6, docs/batch.md): identities and sealed secrets allocated up front (`create`), a
ledger behind one interface (`ledger`; `ledger_sqlite`, `ledger_pg` for several stations), cards flashed on
many readers with crash-safe leases and a `writing` journal (`runner`, `feed`), and the operator's encrypted
output file (`export`).

Modules are imported where used, so `import simtool.batch` stays cheap."""
