"""Registry.flush_all: it runs within the contexts of Registry._around_flush_all, and Registry.flush_holds() is the
lock of the job it flushes, which a hook between two subjob saves may release once (a writer of a subjob gets in)
and take back; a lock its caller holds too stays held."""

import contextlib
import threading
from unittest import mock

import GangaCore.Core.GangaRepository.GangaRepositoryXML as repository_xml
from GangaCore.testlib.GangaUnitTest import GangaUnitTest

SUBJOBS = 4
WAIT = 60


def _taken_elsewhere(lock):
    """Whether another thread can take ``lock`` now (then let go at once)"""
    taken = []

    def take():
        got = lock.acquire(blocking=False)
        if got:
            lock.release()
        taken.append(got)

    other = threading.Thread(target=take)
    other.start()
    other.join(WAIT)
    return taken == [True]


def test_ganga_has_no_hook_and_no_flush_holds_a_lock_outside_flush_all():
    from GangaCore.Core.GangaRepository.Registry import Registry

    assert Registry._around_flush_all == []  # outside a session: a monitoring component joins it while it runs
    assert Registry.flush_holds() is None


class TestFlushHolds(GangaUnitTest):

    def setUp(self):
        # the registry's own flusher left out: the test's flush_all is the one that saves the subjobs
        super().setUp(extra_opts=[('Registry', 'EnableAutoFlush', False)])

    def _changed_split_job(self):
        """A split job made in this session, every subjob changed since its save"""
        from GangaCore.GPI import ArgSplitter, Job, TestSubmitter
        from GangaCore.GPIDev.Base.Proxy import stripProxy

        job = Job(backend=TestSubmitter(time=100), splitter=ArgSplitter(args=[[str(i)] for i in range(SUBJOBS)]))
        job.submit()
        job.force_status('failed', force=True)
        raw = stripProxy(job)
        for subjob in raw.subjobs:
            stripProxy(subjob).comment = 'changed'
        assert raw._dirty
        return raw

    def _flush_all(self, registry, before_subjob_save, around=()):
        from GangaCore.Core.GangaRepository.Registry import Registry

        with mock.patch.object(Registry, '_around_flush_all', list(around)), \
                mock.patch.object(repository_xml.safe_save, 'before_subjob_save', [before_subjob_save]):
            registry.flush_all()

    def test_a_writer_of_a_subjob_gets_the_master_s_lock_between_two_saves(self):
        from GangaCore.Core.GangaRepository.Registry import Registry
        from GangaCore.GPIDev.Base.Proxy import stripProxy

        raw = self._changed_split_job()
        registry = raw._getRegistry()
        last = stripProxy(raw.subjobs[SUBJOBS - 1])
        order, holds, entered = [], [], []
        written = threading.Event()

        def write():  # takes the master's lock, which the flush holds
            last.comment = 'written during the flush'
            order.append('write')
            written.set()

        writer = threading.Thread(target=write, daemon=True)

        @contextlib.contextmanager
        def around(flushed):
            entered.append(flushed)
            yield

        def before_subjob_save(subjob):
            order.append('save')
            held = Registry.flush_holds()
            holds.append((held, held is not None and held._is_owned()))
            if len(order) == 1:  # the first save: the writer waits for the lock; released once, it is free
                writer.start()
                held.release()
                try:
                    written.wait(WAIT)
                finally:
                    held.acquire()

        self._flush_all(registry, before_subjob_save, [around])
        writer.join(WAIT)
        assert entered[0] is registry
        assert order[:2] == ['save', 'write']  # Ganga's: the write once the flush was over
        assert order.count('write') == 1 and order.count('save') >= SUBJOBS
        assert holds == [(raw._lock, True)] * order.count('save')
        assert Registry.flush_holds() is None
        assert last.comment == 'written during the flush'

    def test_a_lock_the_caller_of_flush_all_holds_stays_held_through_the_release(self):
        from GangaCore.Core.GangaRepository.Registry import Registry

        raw = self._changed_split_job()
        free = []

        def before_subjob_save(subjob):
            held = Registry.flush_holds()
            held.release()
            try:
                free.append(_taken_elsewhere(held))
            finally:
                held.acquire()

        with raw._lock:
            self._flush_all(raw._getRegistry(), before_subjob_save)
            assert not _taken_elsewhere(raw._lock)
        assert len(free) >= SUBJOBS and not any(free)
        assert _taken_elsewhere(raw._lock)

    def test_a_flush_of_a_job_outside_flush_all_holds_no_lock_for_the_hooks(self):
        from GangaCore.Core.GangaRepository.Registry import Registry

        raw = self._changed_split_job()
        holds = []
        with mock.patch.object(repository_xml.safe_save, 'before_subjob_save',
                               [lambda subjob: holds.append(Registry.flush_holds())]):
            raw._getRegistry()._flush([raw])  # e.g. a submit's flush
        assert len(holds) >= SUBJOBS and all(held is None for held in holds)
