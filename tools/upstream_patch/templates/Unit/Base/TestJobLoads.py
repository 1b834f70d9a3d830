"""A job's load from disk: made once, however many threads ask (Registry._load); a reader meanwhile waits for it
without the job's lock (Descriptor.__get__); a split job being loaded never has an empty list of subjobs
(GangaRepositoryLocal._parse_xml).

test_a_ saves a split job; each test after it runs in a session of its own, where the job is not loaded yet.
"""

import contextlib
import threading
from unittest import mock

from GangaCore.testlib.GangaUnitTest import GangaUnitTest

WAIT = 60


class _Asked:
    """A registry's lock (its _flush_lock) that sets ``asked`` when ``thread`` asks for it, and notes whether that
    thread then holds ``job_lock``; taken and let go as the lock itself"""

    def __init__(self, lock, thread, job_lock):
        self.lock, self.thread, self.job_lock = lock, thread, job_lock
        self.asked = threading.Event()
        self.holding_the_job_s_lock = []

    def __enter__(self):
        if threading.current_thread() is self.thread and not self.asked.is_set():
            self.holding_the_job_s_lock.append(self.job_lock._is_owned())
            self.asked.set()
        return self.lock.__enter__()

    def __exit__(self, *exc_info):
        return self.lock.__exit__(*exc_info)

    def acquire(self, *args, **kwargs):
        return self.lock.acquire(*args, **kwargs)

    def release(self):
        return self.lock.release()


@contextlib.contextmanager
def _asked_by(registry, thread, job_lock):
    """Within: the registry's _flush_lock is an _Asked watching ``thread``"""
    asked = _Asked(registry._flush_lock, thread, job_lock)
    registry._flush_lock = asked
    try:
        yield asked
    finally:
        registry._flush_lock = asked.lock


class TestJobLoads(GangaUnitTest):

    def setUp(self):
        super().setUp(extra_opts=[('TestingFramework', 'AutoCleanup', 'False')])

    def _not_loaded(self):
        from GangaCore.GPI import jobs
        from GangaCore.GPIDev.Base.Proxy import stripProxy

        raw = stripProxy(jobs(0))
        registry = raw._getRegistry()
        assert not registry.repository.isObjectLoaded(raw)
        assert 'backend' not in raw._data and 'subjobs' not in raw._data
        return raw, registry

    def test_a_split_job_is_saved(self):
        from GangaCore.GPI import ArgSplitter, Job, TestSubmitter, jobs

        job = Job(backend=TestSubmitter(time=100), splitter=ArgSplitter(args=[['a'], ['b']]))
        job.submit()
        job.force_status('failed', force=True)
        assert len(jobs) == 1 and len(job.subjobs) == 2

    def test_b_a_job_two_threads_ask_for_at_once_is_loaded_once(self):
        """The first reader's load (the registry's locks held) goes on once the second has found the job not
        loaded and asks for those locks: the second then loads nothing (Ganga's loaded the job again, over the
        object the first had handed out, its subjobs an empty list, then a new list)"""
        raw, registry = self._not_loaded()
        repository = registry.repository
        ganga_load = repository.load
        loads = []
        second = threading.Thread(target=registry._load, args=(raw,), name='second reader', daemon=True)
        with _asked_by(registry, second, raw._lock) as watch:

            def load(ids, *args, **kwargs):
                loads.append(list(ids))
                if len(loads) == 1:  # the first reader, under the registry's locks
                    second.start()
                    watch.asked.wait(WAIT)
                return ganga_load(ids, *args, **kwargs)

            with mock.patch.object(repository, 'load', load):
                first = threading.Thread(target=registry._load, args=(raw,), name='first reader', daemon=True)
                first.start()
                first.join(WAIT)
                subjobs = raw._data.get('subjobs')
                second.join(WAIT)
        assert watch.asked.is_set()
        assert not first.is_alive() and not second.is_alive()
        assert loads == [[0]]  # Ganga's: [[0], [0]]
        assert raw._data['subjobs'] is subjobs and len(subjobs) == 2

    def test_c_a_read_during_another_thread_s_load_waits_for_it_without_the_job_s_lock(self):
        """A reader of a value only the load gives (backend) asks for the registry's locks, which the loader
        holds, without the job's lock: Ganga's read held the job's lock there, which the loader needs to attach
        each value it sets (a deadlock: here the loader gives up instead, and the test fails)"""
        raw, registry = self._not_loaded()
        repository = registry.repository
        ganga_load = repository.load
        read = []
        reader = threading.Thread(target=lambda: read.append(raw.backend), name='reader', daemon=True)
        with _asked_by(registry, reader, raw._lock) as watch:

            def load(ids, *args, **kwargs):
                if threading.current_thread() is loader:
                    reader.start()
                    watch.asked.wait(WAIT)  # the reader waits for the registry's locks, which this thread holds
                    if watch.holding_the_job_s_lock != [False]:
                        raise RuntimeError('the reader holds the job\'s lock: a load now would wait for it for ever')
                return ganga_load(ids, *args, **kwargs)

            loader = threading.Thread(target=registry._load, args=(raw,), name='loader', daemon=True)
            with mock.patch.object(repository, 'load', load):
                loader.start()
                loader.join(WAIT)
                reader.join(WAIT)
        assert not loader.is_alive() and not reader.is_alive()
        assert watch.holding_the_job_s_lock == [False]
        assert [type(value).__name__ for value in read] == ['TestSubmitter']

    def test_d_a_split_job_being_loaded_never_has_an_empty_list_of_subjobs(self):
        """Where the load makes the job's SubJobXMLList, every other value set, the job has no subjobs value
        (a reader waits for the load): Ganga had set the class default there first, an empty list"""
        import GangaCore.Core.GangaRepository.GangaRepositoryXML as repository_xml

        raw, registry = self._not_loaded()
        ganga_list = repository_xml.SubJobXMLList
        seen = []

        def made(directory, registry_, data_file_name, load_backup, parent=None):
            seen.append(parent._data.get('subjobs', 'not set'))
            return ganga_list(directory, registry_, data_file_name, load_backup, parent)

        made.checkJobHasChildren = ganga_list.checkJobHasChildren
        with mock.patch.object(repository_xml, 'SubJobXMLList', made):
            registry._load(raw)
        assert seen == ['not set']
        assert len(raw._data['subjobs']) == 2
