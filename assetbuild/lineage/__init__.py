"""Lineage: what a build tells the world (OpenLineage events, their outbox and delivery, the view).

Importing this package loads nothing heavy; openlineage, sqlglot and polars are imported only
inside the functions that need them. The engine's entry points:

    from assetbuild.lineage.listener import OpenLineageListener   # a build Listener
    from assetbuild.lineage.delivery import push, PushResult       # `assetbuild lineage push`
    from assetbuild.lineage.metrics import data_quality_metrics    # RunInfo.extra["metrics"]
    from assetbuild.lineage.view import lineage_view               # `assetbuild lineage`
"""
