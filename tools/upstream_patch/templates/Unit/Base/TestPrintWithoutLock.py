"""GangaObject.accept: a print runs without the root's lock, within GangaObject._around_print."""

import contextlib
import io
import threading

from GangaCore.testlib.GangaUnitTest import GangaUnitTest


class TestPrintWithoutLock(GangaUnitTest):

    def test_a_print_runs_while_another_thread_holds_the_lock_within_the_around_print_contexts(self):
        from GangaCore.GPI import Job
        from GangaCore.GPIDev.Base.Objects import GangaObject
        from GangaCore.GPIDev.Base.Proxy import stripProxy

        job = stripProxy(Job(name="printed"))
        entered = []

        @contextlib.contextmanager
        def around():
            entered.append("in")
            yield
            entered.append("out")

        held, release = threading.Event(), threading.Event()

        def hold():
            with job._getRoot()._lock:
                held.set()
                release.wait(60)  # a guard against a print that waits for the lock

        holder = threading.Thread(target=hold, daemon=True)
        GangaObject._around_print.append(around)
        try:
            holder.start()
            assert held.wait(60)
            out = io.StringIO()
            job.printTree(out)
            assert holder.is_alive()  # printed while the lock was held
            assert "printed" in out.getvalue()
            # each object printed (the job, its application, ...) is an accept within the contexts
            assert entered[0] == "in" and entered[-1] == "out"
            assert entered.count("in") == entered.count("out") > 1
        finally:
            GangaObject._around_print.remove(around)
            release.set()
            holder.join(60)

    def test_any_other_visitor_takes_the_lock(self):
        from GangaCore.Core.GangaRepository.VStreamer import VStreamer
        from GangaCore.GPI import Job
        from GangaCore.GPIDev.Base.Proxy import stripProxy

        job = stripProxy(Job())
        owned = []

        class Visitor(VStreamer):
            def nodeBegin(self, node):
                owned.append(job._getRoot()._lock._is_owned())
                super().nodeBegin(node)

        visitor = Visitor(out=io.StringIO(), selection=[])
        job.accept(visitor)
        assert owned and owned[0]
