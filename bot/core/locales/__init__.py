"""Translation catalogs: one module per language, each with `CATALOG: dict[str, str]` that maps
the English msgid used in the code to its translation. bot.core.i18n registers them.

Nothing here imports from bot.core, so i18n can import the catalogs without a cycle.
"""
