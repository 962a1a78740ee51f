"""`exact-tui demo`: the sandbox, a fresh store, demo platform data and a worker, wired in one
process so a newcomer sees the whole product work without an Exact account."""
