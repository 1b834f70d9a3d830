"""Ganga's monitoring component and what it drives: polling, users' requests, the outputs' pipeline.

``integration/component.py`` is the drop-in ``monitoring_component``; the
other modules are its parts, each wired by it.  They read Ganga's jobs and
registry; Ganga's classes are patched only by ``patches``.
"""
