"""Descriptor.__get__: a value already loaded is read without the root's lock; anything else takes it."""

import threading

from GangaCore.testlib.GangaUnitTest import GangaUnitTest


class _Holder(threading.Thread):
    """Holds ``lock`` from ``held`` until ``release`` (or 60 s, a guard against a read that waits)."""

    def __init__(self, lock):
        super().__init__(daemon=True)
        self.lock = lock
        self.held, self.release = threading.Event(), threading.Event()

    def run(self):
        with self.lock:
            self.held.set()
            self.release.wait(60)


class TestLockFreeReads(GangaUnitTest):

    def test_a_loaded_value_is_read_while_another_thread_holds_the_root_s_lock(self):
        from GangaCore.GPI import Executable, Job
        from GangaCore.GPIDev.Base.Proxy import stripProxy

        job = stripProxy(Job(name="read me", application=Executable(exe="echo")))
        holder = _Holder(job._getRoot()._lock)
        holder.start()
        assert holder.held.wait(60)
        try:
            assert job.name == "read me"
            assert job.application.exe == "echo"  # a component: its parent is set
            assert job.fqid == str(job.id)  # a getter
            assert holder.is_alive()  # read while the lock was held, not after its holder let it go
        finally:
            holder.release.set()
            holder.join(60)

    def test_a_component_not_yet_attached_and_the_class_take_the_locked_path(self):
        from GangaCore.GPI import Executable, Job
        from GangaCore.GPIDev.Base.Proxy import stripProxy

        job = stripProxy(Job())
        application = stripProxy(Executable(exe="echo"))
        job._data_dict["application"] = application  # stored, its parent not set yet
        assert application._getParent() is not job
        assert job.application is application  # Ganga's locked path answers the same
        assert type(job).name is type(job)._schema["name"]  # on the class: the schema's item
