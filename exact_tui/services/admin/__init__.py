"""The admin screens' read side (docs/architecture.md §Console): divisions and bank accounts,
mappings and division settings, Exact accounts with their customer links, master data, and what
blocks a job. Nothing here writes: the writes are the operator intents (`services.intents`).

Every query is bounded: lists are keyset-paged on indexed columns, and the documents a key
blocks are counted from the blocked jobs' `missing` lists grouped as they are stored (`blocked`).
"""
