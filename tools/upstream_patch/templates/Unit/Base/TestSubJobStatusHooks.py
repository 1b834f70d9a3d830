"""Job.getSubJobStatuses: the first answer of Job._subjob_statuses, else read from every subjob."""

from unittest import mock

from GangaCore.testlib.GangaUnitTest import GangaUnitTest


class TestSubJobStatusHooks(GangaUnitTest):

    def test_the_first_hook_that_knows_answers_else_the_subjobs_are_read(self):
        from GangaCore.GPI import ArgSplitter, Job, TestSubmitter
        from GangaCore.GPIDev.Base.Proxy import stripProxy
        from GangaCore.GPIDev.Lib.Job.Job import Job as RawJob

        split = Job(backend=TestSubmitter(time=100), splitter=ArgSplitter(args=[['a'], ['b']]))
        split.submit()
        master = stripProxy(split)
        read = master.getSubJobStatuses()
        assert read == {sj.status for sj in split.subjobs}
        asked = []

        def unknown(job):
            asked.append(job)

        def counted(job):
            return {'counted'}

        with mock.patch.object(RawJob, '_subjob_statuses', [unknown, counted]):
            assert master.getSubJobStatuses() == {'counted'}
        assert asked == [master]
        with mock.patch.object(RawJob, '_subjob_statuses', [unknown]):
            assert master.getSubJobStatuses() == read
