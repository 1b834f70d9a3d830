"""Generate GangaMonitoring as an incremental series of commits on a checkout of Ganga.

Nothing of Ganga is kept here: the generator is given a git checkout (or a
bare clone) of ganga-devs/ganga at run time, makes a branch in a clone of
it and commits, one step at a time, what :mod:`.manifest` declares: which
of our files go where (by directory and glob, so files added to our package
later are carried along) and which anchored edits apply to Ganga's files.
``python -m tools.upstream_patch --help`` runs it; ``docs/upstream-patch.md``
says what each commit does.
"""
