"""JobTime's hook: timenow(status) returns at once when one of JobTime._stamps_wait answers True."""

import threading
from unittest import mock

from GangaCore.testlib.GangaUnitTest import GangaUnitTest


def test_ganga_declares_no_hook():
    from GangaCore.GPIDev.Lib.Job.JobTime import JobTime

    assert JobTime._stamps_wait == []  # outside a session: a monitoring component joins it while it runs


class TestJobTimeHooks(GangaUnitTest):

    def test_a_stamp_a_hook_waits_for_is_not_taken_and_the_others_are(self):
        from GangaCore.GPI import ArgSplitter, Job, TestSubmitter
        from GangaCore.GPIDev.Base.Proxy import stripProxy
        from GangaCore.GPIDev.Lib.Job.JobTime import JobTime

        split = Job(backend=TestSubmitter(time=100), splitter=ArgSplitter(args=[['a'], ['b']]))
        split.submit()
        master = stripProxy(split)
        asked = []

        here = threading.get_ident()  # a monitoring thread may stamp the master meanwhile: not counted

        def waits(job_time, status):
            if threading.get_ident() == here:
                asked.append((job_time, status))
            return status == 'running'

        for subjob in master.subjobs:
            subjob.time.timestamps['running'] = subjob.time.timestamps['submitted']
        master.time.sj_statlist.append('running')
        master.time.timestamps.pop('running', None)
        walks = []
        walked = JobTime.sjStatList_return

        def counted(self, status):
            if threading.get_ident() == here:
                walks.append(status)
            return walked(self, status)

        with mock.patch.object(JobTime, '_stamps_wait', [waits]), \
                mock.patch.object(JobTime, 'sjStatList_return', counted):
            master.time.timenow('running')
            assert walks == [] and 'running' not in master.time.timestamps
            master.time.timenow('submitted')
        assert asked == [(master.time, 'running'), (master.time, 'submitted')]
        assert 'running' in walks  # not waited for: Ganga's timenow took every stamp from the subjobs
        assert master.time.timestamps['running'] == min(s.time.timestamps['running'] for s in master.subjobs)
