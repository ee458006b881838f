"""Factory batches (issue 6, docs/batch.md): identities and sealed secrets allocated up front (`create`), a
ledger behind one interface (`ledger`; one SQL ledger, `ledger_sql`, over SQLite or PostgreSQL for several
stations) whose transitions one table decides (`lifecycle`), cards flashed on many readers with fenced,
crash-safe leases and a `writing` journal (`runner`, `feed`, `liveness`), and the operator's encrypted output
file (`export`).

Modules are imported where used, so `import simtool.batch` stays cheap."""
