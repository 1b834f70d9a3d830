"""GPI exports of GangaMonitoring (imported by Ganga after plugins are loaded).

Nothing is exported yet beyond what Ganga itself exports from our component
(``runMonitoring``).
"""
