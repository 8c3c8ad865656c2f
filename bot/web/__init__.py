"""The chapter on the web (issue 13): one small aiohttp server beside the adapters, in its own
thread and event loop, on the same database: operator endpoints, chapter and event pages,
calendar feeds and the live wall. Off unless the config has a `[web]` section."""
