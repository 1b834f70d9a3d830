"""GangaRepositoryLocal.flush: a job's index entry is computed once per flush, and kept as before."""

import pytest

from GangaCore.testlib.GangaUnitTest import GangaUnitTest


class TestRepositoryFlush(GangaUnitTest):

    def _counting(self, monkeypatch):
        from GangaCore.GPIDev.Lib.Registry.JobRegistry import JobRegistry

        computed = []
        real = JobRegistry.getIndexCache

        def getIndexCache(registry, obj):
            computed.append(obj)
            return real(registry, obj)

        monkeypatch.setattr(JobRegistry, "getIndexCache", getIndexCache)
        return computed

    @pytest.fixture(autouse=True)
    def _monkeypatch(self, monkeypatch):
        self.monkeypatch = monkeypatch

    def test_a_flush_computes_the_job_s_entry_once(self):
        from GangaCore.GPI import Job, jobs
        from GangaCore.GPIDev.Base.Proxy import stripProxy

        job = stripProxy(Job())
        registry = job._getRegistry()
        job.name = "changed"
        computed = self._counting(self.monkeypatch)
        registry._flush([job])
        assert [obj for obj in computed if obj is job] == [job]
        repository = registry.repository
        assert repository._cached_obj[job.id]["name"] == "changed"
        assert jobs(job.id).name == "changed"

    def test_an_index_write_that_failed_is_made_again(self):
        from GangaCore.GPI import Job
        from GangaCore.GPIDev.Base.Proxy import stripProxy

        job = stripProxy(Job())
        registry = job._getRegistry()
        repository = registry.repository
        real_index_write = type(repository).index_write
        calls = []

        def index_write(repo, this_id, shutdown=False):
            calls.append(this_id)
            if len(calls) == 1:  # the one at the end of _safe_flush_xml stores nothing
                return None
            return real_index_write(repo, this_id, shutdown)

        job.name = "again"
        self.monkeypatch.setattr(type(repository), "index_write", index_write)
        registry._flush([job])
        assert calls == [job.id, job.id]
        assert repository._cached_obj[job.id]["name"] == "again"
